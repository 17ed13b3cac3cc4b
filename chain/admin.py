from django.contrib import admin

from chain.models import ContractDeployment


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(admin.ModelAdmin):
    """Read-only: deployments are recorded by `manage.py chain_deploy`, never edited by hand."""

    list_display = ("name", "chain_id", "address", "block_number", "deployed_at")
    list_filter = ("chain_id", "name")
    search_fields = ("name", "address", "tx_hash")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
