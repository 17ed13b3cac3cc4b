from rest_framework import serializers

from accounts.models import User


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "company_name", "time_zone", "roles", "date_joined")
