//! What an Owner's own round trip through a connection is for: a Test SSO run (reported, signs no one in) or
//! linking the Owner's user to their identity at the IdP (the Owner's deliberate link; nothing else links them).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_test_requests")
                    .add_column(string_len("purpose", 8).default("test"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_test_requests")
                    .drop_column("purpose")
                    .to_owned(),
            )
            .await
    }
}
