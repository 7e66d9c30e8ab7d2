//! The lifecycle of an IdP's signing certificates: when each one last verified a sign-in, the date the last of a
//! connection's certificates expires and the date each SP key's certificate ends (so that the expiry notices and
//! the operator's metric find the connections near them without reading every certificate), and which expiry notices have gone out, so that each one goes out
//! once however many server instances share the database, and its mail is tried again after a failure.

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
                    // Empty for connections saved before this column; the expiry pass fills it in.
                    .add_column(timestamp_with_time_zone_null("signing_valid_until"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sp_keys")
                    // When the key's certificate ends: its rotation is due before. Filled in like the column above.
                    .add_column(timestamp_with_time_zone_null("valid_until"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_connections_signing_valid_until")
                    .table("sso_connections")
                    .col("signing_valid_until")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("idp_certificate_uses")
                    .col(uuid("connection_id"))
                    .col(string_len("sha256_fingerprint", 95))
                    .col(timestamp_with_time_zone("last_used_at"))
                    .primary_key(Index::create().col("connection_id").col("sha256_fingerprint"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("idp_certificate_uses", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("certificate_expiry_notices")
                    .col(uuid("connection_id"))
                    // What ends: `idp_signing` (the IdP's last signing certificate) or `sp_key` (the active SP key).
                    .col(string_len("subject", 16))
                    .col(timestamp_with_time_zone("valid_until"))
                    .col(integer("days_before"))
                    // When the notice was claimed, or its mail last tried again.
                    .col(timestamp_with_time_zone("sent_at"))
                    // The SSO event's reference, which the mail names.
                    .col(string_len("reference", 32))
                    // Mailed to everyone it was for, or nothing to mail (no SMTP relay); else tried again.
                    .col(boolean("mailed").default(false))
                    .col(integer("mail_attempts").default(1))
                    // One row per notice: the instance whose insert lands sends it.
                    .primary_key(
                        Index::create()
                            .col("connection_id")
                            .col("subject")
                            .col("valid_until")
                            .col("days_before"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("certificate_expiry_notices", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["certificate_expiry_notices", "idp_certificate_uses"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("sso_connections_signing_valid_until")
                    .table("sso_connections")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("sp_keys").drop_column("valid_until").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sso_connections")
                    .drop_column("signing_valid_until")
                    .to_owned(),
            )
            .await
    }
}
