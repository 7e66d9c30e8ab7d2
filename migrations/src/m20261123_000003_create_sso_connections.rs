//! Connections from an account to its SAML identity providers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_connections")
                    .col(uuid("id").primary_key())
                    .col(uuid("account_id"))
                    .col(string_len("label", 120))
                    .col(string_len("idp_entity_id", 1024))
                    .col(text("sso_url"))
                    .col(string_len("sso_binding", 80))
                    .col(text_null("slo_url"))
                    .col(string_len_null("slo_binding", 80))
                    // Base64 DER, one certificate per line.
                    .col(text("certificates"))
                    // One NameID format per line.
                    .col(text("name_id_formats"))
                    .col(string_len("source", 16))
                    // The document the connection came from, kept as uploaded.
                    .col(text_null("metadata_xml"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_connections", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_connections_by_account_and_idp")
                    .table("sso_connections")
                    .col("account_id")
                    .col("idp_entity_id")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sso_connections").to_owned())
            .await
    }
}
