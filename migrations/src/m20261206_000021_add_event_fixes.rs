//! What a refused response's SSO event tells the owner to change at the IdP: the cause, as a class
//! (core `sso::explanation::Cause`), and the fix with the connection's values filled in. Older events have neither.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table("sso_events")
                    .add_column(ColumnDef::new("cause").string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sso_events")
                    .add_column(ColumnDef::new("fix").text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["fix", "cause"] {
            manager
                .alter_table(Table::alter().table("sso_events").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
