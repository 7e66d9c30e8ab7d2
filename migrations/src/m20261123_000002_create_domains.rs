//! Email domains an account claims, with their TXT verification state.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("domains")
                    .col(uuid("id").primary_key())
                    .col(uuid("account_id"))
                    .col(string_len("name", 253))
                    .col(string_len("token", 128))
                    .col(string_len("status", 24))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("verified_at"))
                    .col(timestamp_with_time_zone_null("lost_since"))
                    .col(timestamp_with_time_zone_null("last_checked_at"))
                    .col(text_null("last_failure"))
                    .col(timestamp_with_time_zone_null("next_check_at"))
                    .col(timestamp_with_time_zone_null("auto_check_until"))
                    // Set to `name` while the domain counts as verified, NULL otherwise: its unique index lets a
                    // domain be verified in one account at most, in SQLite and PostgreSQL alike, even when two
                    // accounts verify at the same moment.
                    .col(string_len_null("verified_name", 253).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from("domains", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("domains_by_account_and_name")
                    .table("domains")
                    .col("account_id")
                    .col("name")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("domains_by_name")
                    .table("domains")
                    .col("name")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("domains_by_next_check")
                    .table("domains")
                    .col("next_check_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("domains").to_owned()).await
    }
}
