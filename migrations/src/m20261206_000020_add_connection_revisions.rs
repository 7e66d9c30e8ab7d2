//! A revision number on each connection that every change to what signs users in through it moves: the connection
//! row, its role mappings, its SP keys and its account's SSO policy. Server instances keep connections in memory
//! and reread one only when its revision has moved, so a change made through any instance (or by hand in the
//! database) reaches every instance's next message. Triggers move it, so no write path can forget to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows belong to one connection, by `connection_id`.
const CONNECTION_PARTS: [&str; 2] = ["role_mappings", "sp_keys"];

/// SQLite: a trigger per table and event. A write that sets the revision itself (a row read earlier and written
/// back whole) is moved past it all the same; the `WHEN` keeps the trigger's own update from firing it again.
fn sqlite_statements() -> Vec<String> {
    let mut statements = vec![
        "CREATE TRIGGER sso_connections_revision AFTER UPDATE ON sso_connections \
         WHEN NEW.revision <= OLD.revision \
         BEGIN UPDATE sso_connections SET revision = OLD.revision + 1 WHERE id = NEW.id; END"
            .to_owned(),
    ];
    for table in CONNECTION_PARTS {
        statements.push(format!(
            "CREATE TRIGGER {table}_insert_revision AFTER INSERT ON {table} \
             BEGIN UPDATE sso_connections SET revision = revision + 1 WHERE id = NEW.connection_id; END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {table}_update_revision AFTER UPDATE ON {table} \
             BEGIN UPDATE sso_connections SET revision = revision + 1 \
             WHERE id = NEW.connection_id OR id = OLD.connection_id; END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {table}_delete_revision AFTER DELETE ON {table} \
             BEGIN UPDATE sso_connections SET revision = revision + 1 WHERE id = OLD.connection_id; END"
        ));
    }
    for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
        statements.push(format!(
            "CREATE TRIGGER sso_settings_{}_revision AFTER {event} ON sso_settings \
             BEGIN UPDATE sso_connections SET revision = revision + 1 WHERE account_id = {row}.account_id; END",
            event.to_lowercase()
        ));
    }
    statements
}

/// PostgreSQL: the same rules as trigger functions.
fn postgres_statements() -> Vec<String> {
    let mut statements = vec![
        "CREATE FUNCTION gatehouse_connection_revision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.revision <= OLD.revision THEN NEW.revision := OLD.revision + 1; END IF; RETURN NEW; END $$"
            .to_owned(),
        "CREATE TRIGGER sso_connections_revision BEFORE UPDATE ON sso_connections \
         FOR EACH ROW EXECUTE FUNCTION gatehouse_connection_revision()"
            .to_owned(),
        "CREATE FUNCTION gatehouse_connection_part_revision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP <> 'INSERT' THEN UPDATE sso_connections SET revision = revision + 1 WHERE id = OLD.connection_id; \
         END IF; \
         IF TG_OP <> 'DELETE' THEN UPDATE sso_connections SET revision = revision + 1 WHERE id = NEW.connection_id; \
         END IF; RETURN NULL; END $$"
            .to_owned(),
        "CREATE FUNCTION gatehouse_policy_revision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP <> 'INSERT' THEN UPDATE sso_connections SET revision = revision + 1 WHERE account_id = OLD.account_id; \
         END IF; \
         IF TG_OP <> 'DELETE' THEN UPDATE sso_connections SET revision = revision + 1 WHERE account_id = NEW.account_id; \
         END IF; RETURN NULL; END $$"
            .to_owned(),
        "CREATE TRIGGER sso_settings_revision AFTER INSERT OR UPDATE OR DELETE ON sso_settings \
         FOR EACH ROW EXECUTE FUNCTION gatehouse_policy_revision()"
            .to_owned(),
    ];
    for table in CONNECTION_PARTS {
        statements.push(format!(
            "CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION gatehouse_connection_part_revision()"
        ));
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_connections")
                    .add_column(ColumnDef::new("revision").big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_statements(),
            _ => sqlite_statements(),
        };
        for statement in statements {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: Vec<String> = match manager.get_database_backend() {
            DbBackend::Postgres => {
                let mut drops: Vec<String> = CONNECTION_PARTS
                    .iter()
                    .map(|table| format!("DROP TRIGGER {table}_revision ON {table}"))
                    .collect();
                drops.extend(
                    [
                        "DROP TRIGGER sso_settings_revision ON sso_settings",
                        "DROP TRIGGER sso_connections_revision ON sso_connections",
                        "DROP FUNCTION gatehouse_policy_revision()",
                        "DROP FUNCTION gatehouse_connection_part_revision()",
                        "DROP FUNCTION gatehouse_connection_revision()",
                    ]
                    .map(str::to_owned),
                );
                drops
            }
            _ => sqlite_statements()
                .iter()
                .filter_map(|statement| statement.split_whitespace().nth(2))
                .map(|name| format!("DROP TRIGGER {name}"))
                .collect(),
        };
        for statement in statements {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("sso_connections")
                    .drop_column("revision")
                    .to_owned(),
            )
            .await
    }
}
