//! What the ACS refused, as its facts (core `sso::refusal::Refusal`, JSON), so that the dashboard words the
//! reason when it shows the event. Older events have none and keep the reason they were stored with.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_events")
                    .add_column(ColumnDef::new("refusal").text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("sso_events").drop_column("refusal").to_owned())
            .await
    }
}
