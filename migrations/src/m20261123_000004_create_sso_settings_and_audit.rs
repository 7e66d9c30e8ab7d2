//! Each account's sign-in policy (SSO on or off, enforcement, personal accounts) and its audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_settings")
                    .col(uuid("account_id").primary_key())
                    .col(boolean("sso_enabled"))
                    .col(boolean("enforce_sso"))
                    .col(boolean("no_separate_account"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_settings", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .col(uuid("id").primary_key())
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("at"))
                    // The actor's address at the time, kept even if the user is later removed.
                    .col(string_len("actor_email", 254))
                    .col(string_len("action", 64))
                    .col(text("detail"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("audit_events", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_by_account_and_time")
                    .table("audit_events")
                    .col("account_id")
                    .col("at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_events", "sso_settings"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
