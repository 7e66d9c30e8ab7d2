//! Proof that a user receives mail at their address: when it was proven, and the single-use links that prove it.
//! Users their organisation's IdP created are proven by that IdP; everyone else proves their address once.

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
                    .add_column(timestamp_with_time_zone_null("email_proven_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table("users")
                    .value("email_proven_at", Expr::col("created_at"))
                    .and_where(Expr::col("sso_account_id").is_not_null())
                    .and_where(Expr::col("password_hash").is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("email_proofs")
                    // SHA-256 of the link's secret; the secret itself is only in the mail.
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    // The address the link was sent to (canonical form): a link proves that address only.
                    .col(string("email_key"))
                    // Where the user wanted to go when they were asked, for after the proof.
                    .col(string_null("return_to"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    // Links sent to the user since `first_sent_at`, carried over when a new link replaces this one:
                    // what bounds the mail one sign-up can send to someone else's address.
                    .col(integer("links_sent").default(1))
                    .col(timestamp_with_time_zone("first_sent_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("email_proofs", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("email_proofs_user_id")
                    .table("email_proofs")
                    .col("user_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("email_proofs").to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table("users").drop_column("email_proven_at").to_owned())
            .await
    }
}
