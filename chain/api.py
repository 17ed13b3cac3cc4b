"""The caller's wallet for integrators: its address, and linking an own address by Sign-In with
Ethereum (fetch a nonce, sign the EIP-4361 message in the wallet, post it back). Thin: chain/wallets.py
does the work. There is no browser wallet-connect flow yet; linking goes through this API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from chain import wallets
from chain.models import Wallet
from core.api.fields import PatternField, StrictCharField


class WalletSerializer(serializers.Serializer):
    address = serializers.CharField(read_only=True, help_text="EIP-55 checksummed address.")
    kind = serializers.ChoiceField(
        choices=Wallet.Kind.choices,
        read_only=True,
        help_text="custodial: we hold the key; linked: your own wallet, proven by SIWE.",
    )
    linked_at = serializers.DateTimeField(read_only=True, allow_null=True)


class SiweNonceSerializer(serializers.Serializer):
    nonce = serializers.CharField(help_text="Single use; valid for 10 minutes.")
    domain = serializers.CharField(help_text="The message's domain: this API's host.")
    uri = serializers.CharField()
    version = serializers.CharField()
    chain_id = serializers.IntegerField()
    statement = serializers.CharField()
    issued_at = serializers.DateTimeField()
    expiration_time = serializers.DateTimeField()


class SiweLinkSerializer(serializers.Serializer):
    message = StrictCharField(
        max_length=4000, trim_whitespace=False, help_text="The EIP-4361 message exactly as signed."
    )
    signature = PatternField(
        r"^0x[0-9a-fA-F]{130}$", max_length=132, help_text="0x-hex personal_sign (EIP-191) signature (65 bytes)."
    )


class WalletApi(APIView):
    """The caller's wallet; a custodial address is created on first request."""

    @extend_schema(responses=WalletSerializer)
    def get(self, request):
        return Response(WalletSerializer(wallets.wallet_for(user=request.user)).data)


class SiweNonceApi(APIView):
    """A nonce and the fields of the Sign-In with Ethereum message to sign for linking."""

    @extend_schema(request=None, responses=SiweNonceSerializer)
    def post(self, request):
        now = timezone.now()
        data = {
            "nonce": wallets.siwe_nonce_issue(user=request.user),
            "domain": request.get_host(),
            "uri": request.build_absolute_uri("/"),
            "version": wallets.SIWE_VERSION,
            "chain_id": wallets.siwe_chain_id(),
            "statement": wallets.SIWE_STATEMENT,
            "issued_at": now,
            "expiration_time": now + wallets.SIWE_NONCE_TTL,
        }
        return Response(SiweNonceSerializer(data).data)


class SiweLinkApi(APIView):
    """Link the signed message's address as the caller's wallet; 400 with errors by field otherwise."""

    @extend_schema(request=SiweLinkSerializer, responses={200: WalletSerializer})
    def post(self, request):
        payload = SiweLinkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            wallet = wallets.siwe_message_check_and_link(
                user=request.user,
                message=payload.validated_data["message"],
                signature=payload.validated_data["signature"],
                domain=request.get_host(),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(WalletSerializer(wallet).data)


urlpatterns = [
    path("wallet/", WalletApi.as_view(), name="api-wallet"),
    path("wallet/siwe/nonce/", SiweNonceApi.as_view(), name="api-wallet-siwe-nonce"),
    path("wallet/siwe/link/", SiweLinkApi.as_view(), name="api-wallet-siwe-link"),
]
