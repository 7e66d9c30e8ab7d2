//! Whether a domain's password sign-in was chosen or never decided, and whether its verification was started by
//! the Owner: together they decide when a domain may be routed to the account's only connection by default.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 2] = ["password_chosen", "owner_started_check"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("domains")
                        .add_column(boolean(column).default(false))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(Table::alter().table("domains").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
