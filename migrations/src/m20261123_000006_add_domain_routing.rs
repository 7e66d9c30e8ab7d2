//! Which identity-provider connection a domain's users sign in through.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign key: SQLite cannot add one to an existing table. Removing a connection clears its routes
        // in the same statement batch instead (see the store's `delete_connection`).
        manager
            .alter_table(
                Table::alter()
                    .table("domains")
                    .add_column(uuid_null("connection_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("domains").drop_column("connection_id").to_owned())
            .await
    }
}
