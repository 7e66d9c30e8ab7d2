//! Test SSO runs: which pending AuthnRequests the account Owner started to test a connection, and who started
//! them. A test request signs no one in; its response is checked and reported instead.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_test_requests")
                    // The id of the pending request in sso_requests.
                    .col(string_len("request_id", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_test_requests", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sso_test_requests").to_owned())
            .await
    }
}
