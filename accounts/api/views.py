from rest_framework import generics

from accounts.api.serializers import MeSerializer


class MeApi(generics.RetrieveAPIView):
    """The account the presented API key (or session) belongs to."""

    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user
