//! Per-connection sign-in options, the SP key pairs, and metadata imported from (and monitored at) a URL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn connection_columns() -> Vec<ColumnDef> {
    vec![
        // Every SSO endpoint the IdP offers, one `binding location` per line; `sso_url`/`sso_binding` hold the
        // one AuthnRequests go to.
        text("sso_endpoints").default("").to_owned(),
        boolean("allow_idp_initiated").default(false).to_owned(),
        boolean("sign_authn_requests").default(true).to_owned(),
        string_len("requested_authn_context", 40).default("none").to_owned(),
        // Empty: the email is the NameID.
        string_len("email_attribute", 256).default("").to_owned(),
        boolean("allow_sha1").default(false).to_owned(),
        integer("clock_skew_seconds").default(180).to_owned(),
        text_null("metadata_url"),
        boolean("monitor_metadata").default(false).to_owned(),
        // Base64 DER of the certificate the metadata document itself must be signed with, when the owner gave one.
        text_null("metadata_signing_certificate"),
        // When the monitored URL is fetched next; moved ahead while one server instance refreshes it, so another
        // does not do it at the same time.
        timestamp_with_time_zone_null("metadata_refresh_due_at"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for mut column in connection_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table("sso_connections")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE sso_connections SET sso_endpoints = sso_binding || ' ' || sso_url")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sp_keys")
                    .col(uuid("id").primary_key())
                    .col(uuid("connection_id"))
                    // `active` signs and decrypts; `next` is published ahead of a rotation; `previous` still
                    // decrypts for a while after one.
                    .col(string_len("state", 16))
                    .col(text("private_key_pem"))
                    // Base64 DER.
                    .col(text("certificate"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sp_keys", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sp_keys_one_per_state")
                    .table("sp_keys")
                    .col("connection_id")
                    .col("state")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("metadata_refreshes")
                    .col(uuid("id").primary_key())
                    .col(uuid("connection_id"))
                    .col(timestamp_with_time_zone("at"))
                    // `updated`, `unchanged` or `failed`.
                    .col(string_len("outcome", 16))
                    .col(text("detail"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("metadata_refreshes", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("metadata_refreshes_by_connection")
                    .table("metadata_refreshes")
                    .col("connection_id")
                    .col("at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["metadata_refreshes", "sp_keys"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in connection_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table("sso_connections")
                        .drop_column(Alias::new(column.get_column_name()))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
