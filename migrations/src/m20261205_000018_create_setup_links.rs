//! Setup links: the Owner hands the SSO set-up of one account (domains, identity providers, Test SSO) to someone
//! without a Gatehouse account, for a limited time; and the sessions such a link opens, which are not any user's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("setup_links")
                    .col(uuid("id").primary_key())
                    // SHA-256 of the link's secret; the secret itself is shown once to the Owner.
                    .col(string_len("token_hash", 64).unique_key())
                    .col(uuid("account_id"))
                    .col(string("name"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    // When the person holding the link said the set-up is done (once).
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("setup_links", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("setup_links", "created_by")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("setup_links_account_id")
                    .table("setup_links")
                    .col("account_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("setup_link_sessions")
                    // SHA-256 of the session token in the browser's cookie.
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("link_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    // Never later than the link's own expiry.
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("setup_link_sessions", "link_id")
                            .to("setup_links", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("setup_link_sessions_link_id")
                    .table("setup_link_sessions")
                    .col("link_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("setup_link_sessions").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("setup_links").to_owned()).await
    }
}
