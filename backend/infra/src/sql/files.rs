//! The file rows' repository (the bytes live in the object store).

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::UnitPath;
use tessera_domain::files::{FileFilter, FileRepo, FileStatus, FileType, NewFile, StoredFile};
use tessera_domain::shared::{
    DomainError, DomainResult, FileId, OrgUnitId, Page, PageRequest, UserId,
};

use super::{
    corrupt, db_error, get, id_list, id_of, now_ms, scope_args, time, Arg, List, SqlStore,
};

/// Files with their org unit's path, for scope checks.
const FILE_COLUMNS: &str = "f.id, f.file_type, f.object_key, f.original_name, f.content_type, \
     f.size, f.status, f.uploaded_by, f.org_unit_id, ou.path AS unit_path, f.created_at";
const FILE_FROM: &str = "files f LEFT JOIN org_units ou ON ou.id = f.org_unit_id";

fn file_from_row(row: &AnyRow) -> DomainResult<StoredFile> {
    let file_type: String = get(row, "file_type")?;
    let status: String = get(row, "status")?;
    Ok(StoredFile {
        id: FileId(get(row, "id")?),
        file_type: FileType::from_str(&file_type).map_err(|_| corrupt("file type", &file_type))?,
        object_key: get(row, "object_key")?,
        original_name: get(row, "original_name")?,
        content_type: get(row, "content_type")?,
        size: get(row, "size")?,
        status: FileStatus::parse(&status).ok_or_else(|| corrupt("file status", &status))?,
        uploaded_by: UserId(get(row, "uploaded_by")?),
        org_unit_id: get::<Option<i64>>(row, "org_unit_id")?.map(OrgUnitId),
        unit_path: get::<Option<String>>(row, "unit_path")?.map(UnitPath::from_stored),
        created_at: time(get(row, "created_at")?),
    })
}

#[async_trait]
impl FileRepo for SqlStore {
    async fn insert_file(&self, file: NewFile) -> DomainResult<StoredFile> {
        let row = sqlx::query(
            "INSERT INTO files (file_type, object_key, original_name, content_type, size, status, uploaded_by, org_unit_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(file.file_type.as_str())
        .bind(&file.object_key)
        .bind(&file.original_name)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(file.status.as_str())
        .bind(file.uploaded_by.0)
        .bind(file.org_unit_id.map(|u| u.0))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        self.file_by_id(FileId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("file"))
    }

    async fn file_by_id(&self, id: FileId) -> DomainResult<Option<StoredFile>> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM {FILE_FROM} WHERE f.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn files_by_ids(&self, ids: &[FileId]) -> DomainResult<Vec<StoredFile>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Only uploaded files, checked here rather than in SQL: SQLite, without statistics,
        // would find the rows through the status index (every uploaded file, 25 ms among
        // 100,000) rather than by their ids (under 1 ms).
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILE_FROM} WHERE {}",
            self.one_of("f.id", 1)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id_list(ids.iter().map(|id| id.0)))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut files = Vec::with_capacity(rows.len());
        for row in &rows {
            let file = file_from_row(row)?;
            if file.status == FileStatus::Uploaded {
                files.push(file);
            }
        }
        Ok(files)
    }

    async fn list_files(
        &self,
        filter: FileFilter,
        page: PageRequest,
    ) -> DomainResult<Page<StoredFile>> {
        // Optional filters are binds ("$n IS NULL OR …") so there is one statement to plan; the
        // casts tell PostgreSQL the type of a parameter that may only meet NULL.
        let condition = "f.status = 'uploaded' \
             AND (CAST($1 AS BIGINT) = 1 OR f.uploaded_by = $4 OR (ou.path >= $2 AND ou.path < $3)) \
             AND (CAST($5 AS TEXT) IS NULL OR f.file_type = $5)";
        let [all, start, end] = scope_args(&filter.scope.units);
        let args = [
            all,
            start,
            end,
            Arg::Int(Some(filter.scope.user_id.0)),
            Arg::Text(filter.file_type.map(|t| t.as_str().to_owned())),
        ];
        let list = List {
            columns: FILE_COLUMNS,
            from: FILE_FROM,
            condition,
            order: "f.id DESC",
        };
        self.paged(list, &args, page, file_from_row).await
    }

    async fn newest_files(
        &self,
        file_type: Option<FileType>,
        limit: u32,
    ) -> DomainResult<Vec<StoredFile>> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILE_FROM} WHERE f.status = 'uploaded' \
             AND (CAST($1 AS TEXT) IS NULL OR f.file_type = $1) ORDER BY f.id DESC LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(file_type.map(FileType::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(file_from_row).collect()
    }

    async fn mark_uploaded(
        &self,
        id: FileId,
        size: i64,
        content_type: &str,
        object_key: &str,
    ) -> DomainResult<Option<StoredFile>> {
        // Only a pending row: of two concurrent completions, one wins and the other sees `None`.
        let result = sqlx::query(
            "UPDATE files SET status = 'uploaded', size = $2, content_type = $3, object_key = $4 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id.0)
        .bind(size)
        .bind(content_type)
        .bind(object_key)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        self.file_by_id(id).await
    }

    async fn delete_file(&self, id: FileId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}
