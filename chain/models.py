"""Chain records: which contract lives at which address on which chain."""

from django.db import models


class ContractDeployment(models.Model):
    """A contract deployed by `manage.py chain_deploy`, one per (chain id, contract name).

    Re-deploying on the same chain (a fresh dev chain, see chain/deploy.py) replaces the row.
    """

    chain_id = models.PositiveBigIntegerField()
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=42)
    tx_hash = models.CharField(max_length=66)
    block_number = models.PositiveBigIntegerField()
    artifact_sha256 = models.CharField(max_length=64)
    deployed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "name"], name="chain_deployment_unique_per_chain"),
        ]
        ordering = ["chain_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} on {self.chain_id} at {self.address}"
