//! Role mappings of each identity-provider connection: IdP attribute name and value → Gatehouse role.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_connections")
                    .add_column(string_len("default_role", 16).default("no_access"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sso_connections")
                    .add_column(boolean("reapply_roles").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("role_mappings")
                    .col(uuid("connection_id"))
                    // Rules are evaluated in this order; the first that matches decides.
                    .col(integer("position"))
                    .col(string_len("attribute_name", 256))
                    .col(string_len("attribute_value", 1024))
                    .col(string_len("role", 16))
                    .primary_key(Index::create().col("connection_id").col("position"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("role_mappings", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("role_mappings").to_owned())
            .await?;
        for column in ["reapply_roles", "default_role"] {
            manager
                .alter_table(Table::alter().table("sso_connections").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
