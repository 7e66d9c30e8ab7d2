//! What SSO sign-in keeps between the two legs of the flow: pending AuthnRequests bound to a browser, the IDs of
//! accepted assertions (replay), and each attempt's outcome for the owner's SSO events log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_requests")
                    // The AuthnRequest's ID; the RelayState carries a reference to it and nothing else.
                    .col(string_len("id", 64).primary_key())
                    .col(uuid("connection_id"))
                    // SHA-256 of the short-lived cookie that binds the request to the browser that started it.
                    .col(string_len("browser_digest", 64))
                    .col(text_null("return_to"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_requests", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sso_assertions_seen")
                    .col(uuid("connection_id"))
                    .col(string_len("assertion_id", 256))
                    // Kept until the assertion could no longer be accepted anyway.
                    .col(timestamp_with_time_zone("expires_at"))
                    .primary_key(Index::create().col("connection_id").col("assertion_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_assertions_seen", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sso_events")
                    .col(uuid("id").primary_key())
                    .col(uuid("account_id"))
                    .col(uuid_null("connection_id"))
                    .col(timestamp_with_time_zone("at"))
                    // `accepted` or `refused`.
                    .col(string_len("outcome", 16))
                    // What the end user was shown, for the owner to look up.
                    .col(string_len("reference", 16))
                    .col(text("reason"))
                    .col(text_null("name_id"))
                    // The attributes received, one `name = value` per line.
                    .col(text("attributes"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_events", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_events_by_account")
                    .table("sso_events")
                    .col("account_id")
                    .col("at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["sso_events", "sso_assertions_seen", "sso_requests"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
