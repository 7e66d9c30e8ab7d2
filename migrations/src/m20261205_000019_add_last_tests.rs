//! The last Test SSO run of each connection, so the Owner's guided setup (and anyone looking at the connection)
//! knows whether the connection was tested and what the run found, after the browser has left the report.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_last_tests")
                    .col(uuid("connection_id").primary_key())
                    .col(timestamp_with_time_zone("tested_at"))
                    // The run's entry in the SSO events.
                    .col(string_len("reference", 32))
                    // What the run found, as JSON (core `sso::test_sso::TestSummary`), without the response itself.
                    .col(text("summary"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_last_tests", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sso_last_tests").to_owned())
            .await
    }
}
