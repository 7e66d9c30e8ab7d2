//! The raw SAML response of an SSO event, kept for a limited time so support can look at exactly what the IdP
//! sent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_events")
                    // Cleared by the cleanup job once the retention period (--sso-raw-response-hours) has passed.
                    .add_column(text_null("raw_response"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_events")
                    .drop_column("raw_response")
                    .to_owned(),
            )
            .await
    }
}
