"""AWS Backup for the appointments table: patient data survives an overwrite, a bad deploy or a deletion."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from regions.config import RegionSettings
from regions.nag import INLINE_POLICY_REASON, acknowledge, acknowledge_hipaa


class TableBackup(Construct):
    """A vault (customer-managed key, kept on destroy) and a daily plan for the table.

    Point-in-time recovery (on for the table) restores any second of the last 35 days; the daily backups
    reach back ``data.backup_retention_days`` and survive the table's deletion. Only the production data
    profile builds this: a vault that holds recovery points cannot be deleted, so a dev deployment would not
    tear down cleanly.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: RegionSettings, table_arn: str, table_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        data = settings.deployment.data
        key = kms.Key(
            self,
            "VaultKey",
            description=f"{settings.stack_name}: backups of the appointments table",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=settings.deployment.backup_vault_name,  # a later generation beside a kept vault
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,  # recovery points outlive the stack, by design
        )
        self.plan = backup.BackupPlan(self, "Plan", backup_vault=self.vault)
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="daily",
                schedule_expression=events.Schedule.cron(hour="5", minute="0"),
                delete_after=cdk.Duration.days(data.backup_retention_days),
            )
        )
        selection = self.plan.add_selection(
            "Table", resources=[backup.BackupResource.from_arn(table_arn)], allow_restores=True
        )
        # The table is encrypted with the kit's key: AWS Backup reads it with the selection's role.
        table_key.grant(selection.grant_principal, "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
        acknowledge_hipaa(selection, ("IAMNoInlinePolicy", INLINE_POLICY_REASON))
        acknowledge(
            selection,
            (
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
                "AWS Backup's own managed policy for taking backups; AWS maintains it as services change.",
            ),
            (
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]",
                "AWS Backup's own managed policy for restores, so that an operator can restore from the vault.",
            ),
        )
