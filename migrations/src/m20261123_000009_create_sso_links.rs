//! Users provisioned through SSO: which account's SSO created a user, and the link from a connection's NameID to
//! the user it signs in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    // The account whose SSO created this user (its Enforce SSO applies); empty for sign-ups.
                    .add_column(uuid_null("sso_account_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sso_links")
                    .col(uuid("connection_id"))
                    .col(string_len("name_id", 1024))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("connection_id").col("name_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_links", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Deleting a user removes its links, so a user created again later links afresh.
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_links", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sso_links").to_owned()).await?;
        manager
            .alter_table(Table::alter().table("users").drop_column("sso_account_id").to_owned())
            .await
    }
}
