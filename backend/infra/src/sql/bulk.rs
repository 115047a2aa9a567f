//! Bulk loading for the benchmark data set (`tessera seed --members … --payments … --files …`):
//! rows are streamed into one transaction as the caller generates them, never collected. On
//! PostgreSQL they go through `COPY … FROM STDIN` (text format) on a connection of its own, on
//! SQLite through multi-row `INSERT`s. Ids are given by the loader: the tables it loads are
//! locked against other writers for the whole transaction (PostgreSQL `LOCK … IN EXCLUSIVE MODE`,
//! which still lets readers read; SQLite's one writer), so the next free ids read at the start
//! stay free, and the sequences are moved past them before the commit.

use sqlx::postgres::{PgConnection, PgCopyIn};
use sqlx::{Any, AssertSqlSafe, Connection, Executor, Row, Transaction};
use tessera_domain::shared::{DomainError, DomainResult};

use super::{db_error, DbKind, SqlStore};

/// The tables a bulk load writes, in the order their foreign keys need.
pub const BULK_TABLES: [BulkTable; 4] = [
    BulkTable::Files,
    BulkTable::Members,
    BulkTable::Dues,
    BulkTable::Payments,
];

/// A table the bulk loader writes, with the columns it writes (every NOT NULL one without a
/// default, and the id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkTable {
    /// `files`: id, file_type, object_key, original_name, content_type, size, status,
    /// uploaded_by, org_unit_id, created_at.
    Files,
    /// `members`: id, name, email, org_unit_id, status, phone, joined_on, notes,
    /// avatar_file_id, search_text, created_at.
    Members,
    /// `dues`: id, member_id, period, amount_cents, currency, due_date, status, created_at.
    Dues,
    /// `payments`: id, member_id, dues_id, purpose, amount_cents, currency, method, paid_on,
    /// recorded_by, created_at.
    Payments,
}

impl BulkTable {
    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            BulkTable::Files => "files",
            BulkTable::Members => "members",
            BulkTable::Dues => "dues",
            BulkTable::Payments => "payments",
        }
    }

    /// The columns a row gives, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            BulkTable::Files => &[
                "id",
                "file_type",
                "object_key",
                "original_name",
                "content_type",
                "size",
                "status",
                "uploaded_by",
                "org_unit_id",
                "created_at",
            ],
            BulkTable::Members => &[
                "id",
                "name",
                "email",
                "org_unit_id",
                "status",
                "phone",
                "joined_on",
                "notes",
                "avatar_file_id",
                "search_text",
                "created_at",
            ],
            BulkTable::Dues => &[
                "id",
                "member_id",
                "period",
                "amount_cents",
                "currency",
                "due_date",
                "status",
                "created_at",
            ],
            BulkTable::Payments => &[
                "id",
                "member_id",
                "dues_id",
                "purpose",
                "amount_cents",
                "currency",
                "method",
                "paid_on",
                "recorded_by",
                "created_at",
            ],
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkValue {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// NULL.
    Null,
}

impl From<i64> for BulkValue {
    fn from(value: i64) -> Self {
        BulkValue::Int(value)
    }
}

impl From<String> for BulkValue {
    fn from(value: String) -> Self {
        BulkValue::Text(value)
    }
}

impl From<&str> for BulkValue {
    fn from(value: &str) -> Self {
        BulkValue::Text(value.to_owned())
    }
}

impl<T: Into<BulkValue>> From<Option<T>> for BulkValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(BulkValue::Null, Into::into)
    }
}

/// The first id each table has free when the load starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstIds {
    /// `files`.
    pub files: i64,
    /// `members`.
    pub members: i64,
    /// `dues`.
    pub dues: i64,
    /// `payments`.
    pub payments: i64,
}

/// How much COPY text is sent at once (PostgreSQL).
const COPY_CHUNK_BYTES: usize = 256 * 1024;

/// How many rows one multi-row `INSERT` carries (SQLite): far below its 32 766 parameters.
const INSERT_ROWS: usize = 200;

enum Conn {
    Postgres(Box<PgConnection>),
    Sqlite(Transaction<'static, Any>),
}

/// One bulk load: a transaction that holds the loaded tables against other writers until
/// [`BulkLoader::commit`]. Dropped without committing, nothing it wrote stays.
pub struct BulkLoader {
    conn: Conn,
    /// The highest id written per table (index in [`BULK_TABLES`]), for the sequences.
    max_ids: [Option<i64>; 4],
}

impl SqlStore {
    /// Starts a bulk load on this store's database (`database_url` is the URL the store was
    /// opened with: PostgreSQL's COPY needs a connection of its own, outside the `Any` pool).
    pub async fn bulk_loader(&self, database_url: &str) -> DomainResult<BulkLoader> {
        let conn = match self.kind {
            DbKind::Postgres => {
                let mut conn = PgConnection::connect(database_url)
                    .await
                    .map_err(db_error)?;
                conn.execute("BEGIN").await.map_err(db_error)?;
                // Other writers wait until the commit; readers go on.
                conn.execute("LOCK TABLE files, members, dues, payments IN EXCLUSIVE MODE")
                    .await
                    .map_err(db_error)?;
                Conn::Postgres(Box::new(conn))
            }
            DbKind::Sqlite => Conn::Sqlite(self.begin_write().await?),
        };
        Ok(BulkLoader {
            conn,
            max_ids: [None; 4],
        })
    }
}

impl BulkLoader {
    /// The first free id of every loaded table (one past the highest there).
    pub async fn first_ids(&mut self) -> DomainResult<FirstIds> {
        let sql = "SELECT (SELECT COALESCE(MAX(id), 0) FROM files) + 1 AS files, \
                          (SELECT COALESCE(MAX(id), 0) FROM members) + 1 AS members, \
                          (SELECT COALESCE(MAX(id), 0) FROM dues) + 1 AS dues, \
                          (SELECT COALESCE(MAX(id), 0) FROM payments) + 1 AS payments";
        let ids = match &mut self.conn {
            Conn::Postgres(conn) => {
                let row = sqlx::query(sql)
                    .fetch_one(conn.as_mut())
                    .await
                    .map_err(db_error)?;
                [
                    row.try_get("files"),
                    row.try_get("members"),
                    row.try_get("dues"),
                    row.try_get("payments"),
                ]
            }
            Conn::Sqlite(tx) => {
                let row = sqlx::query(sql)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_error)?;
                [
                    row.try_get("files"),
                    row.try_get("members"),
                    row.try_get("dues"),
                    row.try_get("payments"),
                ]
            }
        };
        let [files, members, dues, payments] = ids;
        Ok(FirstIds {
            files: files.map_err(db_error)?,
            members: members.map_err(db_error)?,
            dues: dues.map_err(db_error)?,
            payments: payments.map_err(db_error)?,
        })
    }

    /// A count of one query inside the load's transaction (`SELECT … AS n`).
    pub async fn count(&mut self, sql: &'static str) -> DomainResult<i64> {
        match &mut self.conn {
            Conn::Postgres(conn) => sqlx::query(sql)
                .fetch_one(conn.as_mut())
                .await
                .and_then(|row| row.try_get("n")),
            Conn::Sqlite(tx) => sqlx::query(sql)
                .fetch_one(&mut **tx)
                .await
                .and_then(|row| row.try_get("n")),
        }
        .map_err(db_error)
    }

    /// A writer of `table`'s rows; [`BulkWriter::finish`] it before the next table.
    pub async fn writer(&mut self, table: BulkTable) -> DomainResult<BulkWriter<'_>> {
        let index = BULK_TABLES
            .iter()
            .position(|t| *t == table)
            .unwrap_or_default();
        let sink = match &mut self.conn {
            Conn::Postgres(conn) => {
                let statement = format!(
                    "COPY {} ({}) FROM STDIN",
                    table.name(),
                    table.columns().join(", ")
                );
                let copy = conn
                    .as_mut()
                    .copy_in_raw(&statement)
                    .await
                    .map_err(db_error)?;
                Sink::Copy {
                    copy,
                    buffer: String::with_capacity(COPY_CHUNK_BYTES + 4096),
                }
            }
            Conn::Sqlite(tx) => Sink::Insert {
                tx,
                rows: Vec::with_capacity(INSERT_ROWS),
            },
        };
        Ok(BulkWriter {
            table,
            sink,
            written: 0,
            max_id: &mut self.max_ids[index],
        })
    }

    /// Moves the sequences past the ids written and commits; then, on PostgreSQL, `ANALYZE`s
    /// the loaded tables so the planner knows their new sizes at once.
    pub async fn commit(self) -> DomainResult<()> {
        match self.conn {
            Conn::Postgres(mut conn) => {
                for (table, max_id) in BULK_TABLES.iter().zip(self.max_ids) {
                    let Some(max_id) = max_id else { continue };
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT setval(pg_get_serial_sequence('{}', 'id'), \
                                GREATEST($1, (SELECT last_value FROM {}_id_seq)))",
                        table.name(),
                        table.name()
                    )))
                    .bind(max_id)
                    .execute(conn.as_mut())
                    .await
                    .map_err(db_error)?;
                }
                conn.as_mut().execute("COMMIT").await.map_err(db_error)?;
                conn.as_mut()
                    .execute("ANALYZE files, members, dues, payments")
                    .await
                    .map_err(db_error)?;
                conn.close().await.map_err(db_error)?;
            }
            // An explicit id above the table's AUTOINCREMENT counter moves the counter itself.
            Conn::Sqlite(tx) => tx.commit().await.map_err(db_error)?,
        }
        Ok(())
    }
}

enum Sink<'a> {
    Copy {
        copy: PgCopyIn<&'a mut PgConnection>,
        buffer: String,
    },
    Insert {
        tx: &'a mut Transaction<'static, Any>,
        rows: Vec<Vec<BulkValue>>,
    },
}

/// Streams one table's rows: buffered up to a chunk of COPY text or one multi-row `INSERT`,
/// then sent, so memory holds one chunk whatever the number of rows.
pub struct BulkWriter<'a> {
    table: BulkTable,
    sink: Sink<'a>,
    written: u64,
    max_id: &'a mut Option<i64>,
}

impl BulkWriter<'_> {
    /// Adds a row: its values in the order of [`BulkTable::columns`], the id first.
    pub async fn push(&mut self, row: Vec<BulkValue>) -> DomainResult<()> {
        if row.len() != self.table.columns().len() {
            return Err(DomainError::Unexpected(anyhow::anyhow!(
                "a {} row has {} values, not {}",
                self.table.name(),
                row.len(),
                self.table.columns().len()
            )));
        }
        if let Some(BulkValue::Int(id)) = row.first() {
            *self.max_id = Some(self.max_id.map_or(*id, |max| max.max(*id)));
        }
        self.written += 1;
        match &mut self.sink {
            Sink::Copy { copy, buffer } => {
                copy_line(buffer, &row);
                if buffer.len() >= COPY_CHUNK_BYTES {
                    copy.send(buffer.as_bytes()).await.map_err(db_error)?;
                    buffer.clear();
                }
            }
            Sink::Insert { tx, rows } => {
                rows.push(row);
                if rows.len() >= INSERT_ROWS {
                    insert_rows(tx, self.table, rows).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends what is buffered and ends the table; answers how many rows were written.
    pub async fn finish(self) -> DomainResult<u64> {
        match self.sink {
            Sink::Copy { mut copy, buffer } => {
                if !buffer.is_empty() {
                    copy.send(buffer.as_bytes()).await.map_err(db_error)?;
                }
                copy.finish().await.map_err(db_error)?;
            }
            Sink::Insert { tx, mut rows } => {
                if !rows.is_empty() {
                    insert_rows(tx, self.table, &mut rows).await?;
                }
            }
        }
        Ok(self.written)
    }
}

/// One line of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_line(buffer: &mut String, row: &[BulkValue]) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buffer.push('\t');
        }
        match value {
            BulkValue::Int(n) => buffer.push_str(&n.to_string()),
            BulkValue::Null => buffer.push_str("\\N"),
            BulkValue::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => buffer.push_str("\\\\"),
                        '\t' => buffer.push_str("\\t"),
                        '\n' => buffer.push_str("\\n"),
                        '\r' => buffer.push_str("\\r"),
                        c => buffer.push(c),
                    }
                }
            }
        }
    }
    buffer.push('\n');
}

/// Writes `rows` with one `INSERT … VALUES (…), (…)` and empties it.
async fn insert_rows(
    tx: &mut Transaction<'static, Any>,
    table: BulkTable,
    rows: &mut Vec<Vec<BulkValue>>,
) -> DomainResult<()> {
    let columns = table.columns().len();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name(),
        table.columns().join(", ")
    );
    for r in 0..rows.len() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * columns + c + 1));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in rows.drain(..).flatten() {
        query = match value {
            BulkValue::Int(n) => query.bind(n),
            BulkValue::Text(text) => query.bind(text),
            BulkValue::Null => query.bind(None::<String>),
        };
    }
    query.execute(&mut **tx).await.map_err(db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_escape_what_the_text_format_reserves() {
        let mut line = String::new();
        copy_line(
            &mut line,
            &[
                BulkValue::Int(7),
                BulkValue::Text("a\tb\\c\nd\u{1f}e".into()),
                BulkValue::Null,
            ],
        );
        assert_eq!(line, "7\ta\\tb\\\\c\\nd\u{1f}e\t\\N\n");
    }

    #[test]
    fn every_table_lists_its_id_first() {
        for table in BULK_TABLES {
            assert_eq!(table.columns()[0], "id", "{}", table.name());
        }
    }
}
