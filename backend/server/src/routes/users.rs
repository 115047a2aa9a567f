//! `/api/users`: accounts that log in. Administrators manage them; anyone reads their own.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::User;
use tessera_domain::accounts::{ChangeUser, CreateUser};
use tessera_domain::shared::MemberId;
use tessera_domain::shared::OrgUnitId;
use tessera_domain::shared::UserId;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;

/// The routes of `/api/users`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/users")
        .service(endpoints![create_user, list_users])
        .service(endpoints![get_user, update_user, delete_user])
        .service(endpoints![reset_password])
        .service(endpoints![disable_otp])
}

/// A user as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserDto {
    /// Id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the user is an administrator.
    pub is_admin: bool,
    /// Whether the user is a treasurer.
    pub is_treasurer: bool,
    /// Whether the user may log in.
    pub is_active: bool,
    /// Whether login asks for a one-time code.
    pub otp_enabled: bool,
    /// Whether an administrator reset the password: the user must set a new one
    /// (`PATCH /api/auth/me`) before anything else.
    pub must_change_password: bool,
    /// The user's org unit.
    pub org_unit_id: Option<i64>,
    /// The user's own member record, if linked.
    pub member_id: Option<i64>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            is_admin: user.is_admin,
            is_treasurer: user.is_treasurer,
            is_active: user.is_active,
            otp_enabled: user.otp_enabled,
            must_change_password: user.must_change_password,
            org_unit_id: user.org_unit.as_ref().map(|u| u.id.0),
            member_id: user.member_id.map(|m| m.0),
            created_at: user.created_at,
        }
    }
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Login email (unique).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The password.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// Display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Whether the user is an administrator (default false).
    #[serde(default)]
    pub is_admin: bool,
    /// The user's org unit: its data and everything below it is what the user sees.
    #[schema(minimum = 1)]
    pub org_unit_id: Option<i64>,
    /// Whether the user is a treasurer (default false).
    #[serde(default)]
    pub is_treasurer: bool,
    /// The user's own member record.
    #[schema(minimum = 1)]
    pub member_id: Option<i64>,
}

/// Creates a user.
#[utoipa::path(post, path = "", tag = "users", request_body = CreateUserRequest, responses(
    (status = 201, description = "Created", body = UserDto),
    (status = 409, description = "The email is taken (`email_taken`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_user(
    caller: Caller<policy::AdminSession>,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = caller
        .state()
        .accounts
        .create_user(
            &caller.actor(),
            CreateUser {
                email: body.email,
                password: body.password,
                name: body.name,
                is_admin: body.is_admin,
                is_treasurer: body.is_treasurer,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
                member_id: body.member_id.map(MemberId),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(UserDto::from(&user)))
}

/// A page of users, by id.
#[utoipa::path(get, path = "", tag = "users", params(PageQuery), responses(
    (status = 200, description = "A page of users", body = Page<UserDto>),
))]
pub async fn list_users(
    caller: Caller<policy::AdminRead>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .accounts
        .list_users(&caller.actor(), page)
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, |u| UserDto::from(&u))))
}

/// One user: administrators read anyone, others only themselves.
#[utoipa::path(get, path = "/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    responses((status = 200, description = "The user", body = UserDto)))]
pub async fn get_user(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = caller
        .state()
        .accounts
        .get_user(&caller.actor(), UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// A change to a user; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New login email.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// New password.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// New display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// New administrator flag.
    pub is_admin: Option<bool>,
    /// New treasurer flag.
    pub is_treasurer: Option<bool>,
    /// New active flag; inactive users cannot log in or use their tokens.
    pub is_active: Option<bool>,
    /// New org unit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub org_unit_id: Option<Option<i64>>,
    /// New member link; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub member_id: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes a user (not one's own administrator or active flag).
#[utoipa::path(patch, path = "/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)), request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = UserDto),
        (status = 409, description = "The email is taken (`email_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    caller: Caller<policy::AdminSession>,
    id: web::Path<i64>,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let change = ChangeUser {
        email: body.email,
        password: body.password,
        name: body.name,
        is_admin: body.is_admin,
        is_treasurer: body.is_treasurer,
        is_active: body.is_active,
        org_unit_id: body.org_unit_id.map(|unit| unit.map(OrgUnitId)),
        member_id: body.member_id.map(|member| member.map(MemberId)),
    };
    let user = caller
        .state()
        .accounts
        .update_user(&caller.actor(), UserId(id.into_inner()), change)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// Deletes a user nothing refers to (not oneself); otherwise deactivate it.
#[utoipa::path(delete, path = "/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Files or payments refer to the user (`user_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    caller: Caller<policy::AdminSession>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .accounts
        .delete_user(&caller.actor(), UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A password set by an administrator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new password, to hand to the user; they must replace it at their next login.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// Sets a new password for a user who lost theirs: every session of the user ends, and the user
/// must choose a new password at the next login before anything else. Audited.
#[utoipa::path(post, path = "/{id}/password-reset", tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)), request_body = ResetPasswordRequest,
    responses((status = 200, description = "Reset", body = UserDto)))]
pub async fn reset_password(
    caller: Caller<policy::AdminSession>,
    id: web::Path<i64>,
    body: Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = caller
        .state()
        .accounts
        .reset_password(&caller.actor(), UserId(id.into_inner()), &body.password)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// Turns off a user's one-time codes (and voids its recovery codes), for someone who lost its
/// authenticator and its recovery codes. Audited.
#[utoipa::path(delete, path = "/{id}/otp", tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    responses((status = 200, description = "One-time codes are off", body = UserDto)))]
pub async fn disable_otp(
    caller: Caller<policy::AdminSession>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = caller
        .state()
        .accounts
        .disable_user_otp(&caller.actor(), UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}
