//! `/api/posts`: a bulletin board per org unit. A post is read by the users of its unit's
//! subtree (announcements flow down) and by everyone whose scope covers the unit; each read of
//! one post counts a view; `/api/posts/popular` ranks the last 30 days by views.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::posts::{PostInput, PostView};
use tessera_domain::shared::{FileId, OrgUnitId, PostId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query, QueryId};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;

/// The routes of `/api/posts`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/posts")
        .service(endpoints![create_post, list_posts])
        // Before `/{id}`, which would otherwise take `popular` for an id (and answer 404).
        .service(endpoints![popular_posts])
        .service(endpoints![get_post, update_post, delete_post])
}

/// An image of a post.
#[derive(Serialize, ToSchema)]
pub struct PostImageDto {
    /// The file (of type `post_image`).
    pub file_id: i64,
    /// Its signed view URL, from the file-URL cache.
    pub url: String,
}

/// A post as the caller sees it.
#[derive(Serialize, ToSchema)]
pub struct PostDto {
    /// Id.
    pub id: i64,
    /// The unit whose board the post is on.
    pub org_unit_id: i64,
    /// That unit's name, shown even to readers who cannot open the unit (an announcement from
    /// above).
    pub org_unit_name: String,
    /// Whether the caller's scope covers the unit (it can open it); `false` for an
    /// announcement from a unit above the caller's.
    pub org_unit_in_scope: bool,
    /// Who wrote it.
    pub author_id: i64,
    /// The author's name.
    pub author_name: String,
    /// Title.
    pub title: String,
    /// Markdown, exactly as written: render it safely (no raw HTML).
    pub body: String,
    /// Whether it stays on top of its board.
    pub pinned: bool,
    /// Views. On the post itself and in the popular list it includes the views not written
    /// back yet; in lists it is the stored count, up to `POSTS_VIEW_FLUSH_SECS` behind.
    #[schema(minimum = 0)]
    pub view_count: i64,
    /// The images, in order.
    pub images: Vec<PostImageDto>,
    /// Whether the caller may edit and delete it (its author or an administrator).
    pub can_edit: bool,
    /// Whether the caller may pin and unpin it (an administrator or a writer of its unit).
    pub can_pin: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<PostView> for PostDto {
    fn from(view: PostView) -> Self {
        let post = view.post;
        Self {
            id: post.id.0,
            org_unit_id: post.org_unit_id.0,
            org_unit_name: post.org_unit_name,
            org_unit_in_scope: view.unit_in_scope,
            author_id: post.author_id.0,
            author_name: post.author_name,
            title: post.title,
            body: post.body,
            pinned: post.pinned,
            view_count: post.view_count,
            images: view
                .images
                .into_iter()
                .map(|i| PostImageDto {
                    file_id: i.file_id.0,
                    url: i.url,
                })
                .collect(),
            can_edit: view.can_edit,
            can_pin: view.can_pin,
            created_at: post.created_at,
            updated_at: post.updated_at,
        }
    }
}

/// A new post.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The board: a unit the caller may write in (its own unit or one below it).
    #[schema(minimum = 1)]
    pub org_unit_id: i64,
    /// Title: no control characters, not only spaces (kept trimmed).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Markdown, stored exactly as written: not only whitespace, no NUL.
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub body: String,
    /// Images, in order: uploaded files of type `post_image` the caller sees, each once.
    #[schema(max_items = 10, nullable = false)]
    pub image_file_ids: Option<Vec<i64>>,
    /// Keep it on top of the board (default `false`); whoever may post on a board may pin.
    #[schema(nullable = false)]
    pub pinned: Option<bool>,
}

/// A change to a post; absent fields stay as they are. Title, body and images: the author or an
/// administrator; `pinned`: an administrator or a writer of the post's unit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePostRequest {
    /// Title: no control characters, not only spaces (kept trimmed).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        nullable = false
    )]
    pub title: Option<String>,
    /// Markdown, stored exactly as written: not only whitespace, no NUL.
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$",
        nullable = false
    )]
    pub body: Option<String>,
    /// The images, replacing the old ones, in order (`[]` removes them all).
    #[schema(max_items = 10, nullable = false)]
    pub image_file_ids: Option<Vec<i64>>,
    /// Pinned or not.
    #[schema(nullable = false)]
    pub pinned: Option<bool>,
}

fn file_ids(ids: Option<Vec<i64>>) -> Option<Vec<FileId>> {
    ids.map(|ids| ids.into_iter().map(FileId).collect())
}

/// Writes a post on the board of a unit the caller may write in.
#[utoipa::path(post, path = "", tag = "posts", request_body = CreatePostRequest, responses(
    (status = 201, description = "Created", body = PostDto),
))]
pub async fn create_post(
    caller: Caller<policy::Write>,
    body: Json<CreatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let post = caller
        .state()
        .posts
        .create(
            &caller.actor(),
            PostInput {
                org_unit_id: Some(OrgUnitId(body.org_unit_id)),
                title: Some(body.title),
                body: Some(body.body),
                image_file_ids: file_ids(body.image_file_ids),
                pinned: body.pinned,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(PostDto::from(post)))
}

/// Filters of the post list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostFilterQuery {
    /// Only the board of this unit (empty when the caller does not read it).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub org_unit_id: Option<QueryId>,
}

/// The posts the caller reads (its subtree's boards and the boards above its unit), pinned
/// first, then newest first. Cached per scope; every change invalidates.
#[utoipa::path(get, path = "", tag = "posts", params(PostFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of posts", body = Page<PostDto>),
))]
pub async fn list_posts(
    caller: Caller<policy::Read>,
    filter: Query<PostFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .posts
        .list(
            &caller.actor(),
            filter.org_unit_id.map(|id| OrgUnitId(id.0)),
            page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, PostDto::from)))
}

/// The most viewed posts of the last 30 days that the caller reads: by views, then newest
/// first (the `posts:popular` sorted set).
#[utoipa::path(get, path = "/popular", tag = "posts", params(PageQuery), responses(
    (status = 200, description = "A page of popular posts", body = Page<PostDto>),
))]
pub async fn popular_posts(
    caller: Caller<policy::Read>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller.state().posts.popular(&caller.actor(), page).await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, PostDto::from)))
}

/// One post the caller reads; counts a view.
#[utoipa::path(get, path = "/{id}", tag = "posts",
    params(("id" = i64, Path, description = "Post id", minimum = 1)),
    responses((status = 200, description = "The post", body = PostDto)))]
pub async fn get_post(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let post = caller
        .state()
        .posts
        .get(&caller.actor(), PostId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PostDto::from(post)))
}

/// Changes a post: title, body and images its author or an administrator; `pinned` an
/// administrator or a writer of its unit.
#[utoipa::path(patch, path = "/{id}", tag = "posts",
    params(("id" = i64, Path, description = "Post id", minimum = 1)), request_body = UpdatePostRequest,
    responses(
        (status = 200, description = "Changed", body = PostDto),
        (status = 403, description = "A field that is not the caller's to change (`forbidden`); nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_post(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
    body: Json<UpdatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let post = caller
        .state()
        .posts
        .update(
            &caller.actor(),
            PostId(id.into_inner()),
            PostInput {
                org_unit_id: None,
                title: body.title,
                body: body.body,
                image_file_ids: file_ids(body.image_file_ids),
                pinned: body.pinned,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(PostDto::from(post)))
}

/// Deletes a post: its author or an administrator.
#[utoipa::path(delete, path = "/{id}", tag = "posts",
    params(("id" = i64, Path, description = "Post id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither its author nor an administrator (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_post(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .posts
        .delete(&caller.actor(), PostId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
