//! Single logout: which IdP session each SSO session belongs to (connection, NameID, SessionIndex), so a
//! LogoutRequest from the IdP ends exactly those sessions and Gatehouse's own LogoutRequest names them; and the
//! LogoutRequests Gatehouse sent, so the IdP's LogoutResponse is accepted only as the answer to one of them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SESSION_COLUMNS: [&str; 4] = [
    "sso_connection_id",
    "sso_name_id",
    "sso_name_id_format",
    "sso_session_index",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time. No foreign key either (SQLite
        // cannot add one to an existing table): a session whose connection was deleted signs out locally only.
        for mut column in [
            uuid_null(SESSION_COLUMNS[0]),
            text_null(SESSION_COLUMNS[1]),
            text_null(SESSION_COLUMNS[2]),
            text_null(SESSION_COLUMNS[3]),
        ] {
            manager
                .alter_table(Table::alter().table("sessions").add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("sessions_by_idp_subject")
                    .table("sessions")
                    .col("sso_connection_id")
                    .col("sso_name_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sso_logout_requests")
                    .col(string_len("id", 64).primary_key())
                    .col(uuid("connection_id"))
                    .col(text("name_id"))
                    .col(text_null("name_id_format"))
                    .col(text_null("session_index"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sso_logout_requests", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sso_logout_requests").to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("sessions_by_idp_subject")
                    .table("sessions")
                    .to_owned(),
            )
            .await?;
        for column in SESSION_COLUMNS {
            manager
                .alter_table(Table::alter().table("sessions").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
