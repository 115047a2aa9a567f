//! The posts' repository: posts with their unit's name and path and their author's name, and
//! their images in order.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Transaction};
use tessera_domain::access::UnitPath;
use tessera_domain::jobs::{Fence, FencedWrite};
use tessera_domain::posts::{BoardScope, NewPost, Post, PostFilter, PostRepo, PostUpdate};
use tessera_domain::shared::{
    DomainError, DomainResult, FileId, OrgUnitId, Page, PageRequest, PostId, UserId,
};

use super::{
    bind, db_error, get, get_bool, id_list, id_of, now_ms, scope_args, time, Arg, List, SqlStore,
};

const POST_COLUMNS: &str = "p.id, p.org_unit_id, ou.name AS org_unit_name, ou.path AS unit_path, \
     p.author_id, u.name AS author_name, p.title, p.body, p.pinned, p.view_count, p.created_at, \
     p.updated_at";
const POST_FROM: &str =
    "posts p JOIN org_units ou ON ou.id = p.org_unit_id JOIN users u ON u.id = p.author_id";

/// The boards a reader reads (binds `$1…$4`): the units in its scope, and the ancestors of its
/// own unit, whose paths are prefixes of its own.
const READS: &str = "(CAST($1 AS BIGINT) = 1 OR (ou.path >= $2 AND ou.path < $3) \
     OR (CAST($4 AS TEXT) IS NOT NULL AND substr(CAST($4 AS TEXT), 1, length(ou.path)) = ou.path))";

/// The binds of [`READS`].
fn board_args(scope: &BoardScope) -> [Arg; 4] {
    let [all, start, end] = scope_args(&scope.units);
    [
        all,
        start,
        end,
        Arg::Text(scope.below.as_ref().map(|p| p.as_str().to_owned())),
    ]
}

/// A post without its images (they are read apart, for a whole page at once).
fn post_from_row(row: &AnyRow) -> DomainResult<Post> {
    Ok(Post {
        id: PostId(get(row, "id")?),
        org_unit_id: OrgUnitId(get(row, "org_unit_id")?),
        org_unit_name: get(row, "org_unit_name")?,
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        author_id: UserId(get(row, "author_id")?),
        author_name: get(row, "author_name")?,
        title: get(row, "title")?,
        body: get(row, "body")?,
        pinned: get_bool(row, "pinned")?,
        view_count: get(row, "view_count")?,
        image_file_ids: Vec::new(),
        created_at: time(get(row, "created_at")?),
        updated_at: time(get(row, "updated_at")?),
    })
}

impl SqlStore {
    /// Fills in the images of `posts`, in order (one query).
    async fn with_images(&self, mut posts: Vec<Post>) -> DomainResult<Vec<Post>> {
        if posts.is_empty() {
            return Ok(posts);
        }
        let mut images: HashMap<PostId, Vec<FileId>> = HashMap::new();
        let sql = format!(
            "SELECT post_id, file_id FROM post_images WHERE {} ORDER BY post_id, position",
            self.one_of("post_id", 1)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id_list(posts.iter().map(|post| post.id.0)))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        for row in rows {
            images
                .entry(PostId(get(&row, "post_id")?))
                .or_default()
                .push(FileId(get(&row, "file_id")?));
        }
        for post in &mut posts {
            post.image_file_ids = images.remove(&post.id).unwrap_or_default();
        }
        Ok(posts)
    }
}

/// Replaces a post's images with `ids`, in order, inside `tx`.
async fn set_images(
    tx: &mut Transaction<'static, Any>,
    post: PostId,
    ids: &[FileId],
) -> DomainResult<()> {
    sqlx::query("DELETE FROM post_images WHERE post_id = $1")
        .bind(post.0)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    for (position, file) in ids.iter().enumerate() {
        sqlx::query("INSERT INTO post_images (post_id, file_id, position) VALUES ($1, $2, $3)")
            .bind(post.0)
            .bind(file.0)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

#[async_trait]
impl PostRepo for SqlStore {
    async fn insert_post(&self, post: NewPost) -> DomainResult<Post> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO posts (org_unit_id, author_id, title, body, pinned, view_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING id",
        )
        .bind(post.org_unit_id.0)
        .bind(post.author_id.0)
        .bind(&post.title)
        .bind(&post.body)
        .bind(post.pinned)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = PostId(id_of(&row)?);
        set_images(&mut tx, id, &post.image_file_ids).await?;
        tx.commit().await.map_err(db_error)?;
        self.post_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("post"))
    }

    async fn post_by_id(&self, id: PostId) -> DomainResult<Option<Post>> {
        let sql = format!("SELECT {POST_COLUMNS} FROM {POST_FROM} WHERE p.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let Some(post) = row.as_ref().map(post_from_row).transpose()? else {
            return Ok(None);
        };
        Ok(self.with_images(vec![post]).await?.pop())
    }

    async fn list_posts(&self, filter: PostFilter, page: PageRequest) -> DomainResult<Page<Post>> {
        let condition = format!("{READS} AND (CAST($5 AS BIGINT) IS NULL OR p.org_unit_id = $5)");
        let [all, start, end, below] = board_args(&filter.scope);
        let args = [
            all,
            start,
            end,
            below,
            Arg::Int(filter.org_unit_id.map(|u| u.0)),
        ];
        let list = List {
            columns: POST_COLUMNS,
            from: POST_FROM,
            condition: &condition,
            order: "p.pinned DESC, p.created_at DESC, p.id DESC",
        };
        let found = self.paged(list, &args, page, post_from_row).await?;
        Ok(Page {
            items: self.with_images(found.items).await?,
            total: found.total,
        })
    }

    async fn posts_by_ids(&self, scope: &BoardScope, ids: &[PostId]) -> DomainResult<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM {POST_FROM} WHERE {READS} AND {}",
            self.one_of("p.id", 5)
        );
        let rows = bind(sqlx::query(AssertSqlSafe(sql)), &board_args(scope))
            .bind(id_list(ids.iter().map(|id| id.0)))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let posts = rows
            .iter()
            .map(post_from_row)
            .collect::<DomainResult<_>>()?;
        self.with_images(posts).await
    }

    async fn update_post(&self, id: PostId, change: &PostUpdate) -> DomainResult<Option<Post>> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE posts SET title = COALESCE($2, title), body = COALESCE($3, body), \
             pinned = COALESCE($4, pinned), updated_at = $5 WHERE id = $1",
        )
        .bind(id.0)
        .bind(&change.title)
        .bind(&change.body)
        .bind(change.pinned)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        if let Some(images) = &change.image_file_ids {
            set_images(&mut tx, id, images).await?;
        }
        tx.commit().await.map_err(db_error)?;
        self.post_by_id(id).await
    }

    async fn delete_post(&self, id: PostId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM posts WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn add_views(
        &self,
        views: &[(PostId, i64)],
        fence: Option<&Fence>,
    ) -> DomainResult<FencedWrite> {
        let mut tx = self.begin_write().await?;
        if let Some(fence) = fence {
            let token = i64::try_from(fence.token).unwrap_or(i64::MAX);
            // Recorded only when no larger token is there; else nothing of this run is written.
            let recorded = sqlx::query(
                "INSERT INTO job_fences (job, fence, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (job) DO UPDATE SET fence = excluded.fence, updated_at = excluded.updated_at \
                 WHERE job_fences.fence <= excluded.fence",
            )
            .bind(fence.job)
            .bind(token)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if recorded == 0 {
                let newer: i64 = sqlx::query("SELECT fence FROM job_fences WHERE job = $1")
                    .bind(fence.job)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)
                    .and_then(|row| get(&row, "fence"))?;
                tx.rollback().await.map_err(db_error)?;
                return Ok(FencedWrite::Stale {
                    newer: u64::try_from(newer).unwrap_or(0),
                });
            }
        }
        for (id, count) in views {
            sqlx::query("UPDATE posts SET view_count = view_count + $2 WHERE id = $1")
                .bind(id.0)
                .bind(*count)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(FencedWrite::Written)
    }

    async fn view_counts_since(&self, since: DateTime<Utc>) -> DomainResult<Vec<(PostId, i64)>> {
        let rows = sqlx::query("SELECT id, view_count FROM posts WHERE created_at >= $1")
            .bind(since.timestamp_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| Ok((PostId(id_of(row)?), get(row, "view_count")?)))
            .collect()
    }
}
