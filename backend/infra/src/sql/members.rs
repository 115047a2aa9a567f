//! The members' repository.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use tessera_domain::access::UnitPath;
use tessera_domain::members::{
    search_text, Member, MemberFilter, MemberRepo, MemberSort, MemberStatus, MemberUpdate,
    NewMember, SEARCH_SEPARATOR,
};
use tessera_domain::shared::{
    DomainError, DomainResult, ErrorCode, FileId, MemberId, OrgUnitId, Page, PageRequest,
};

use super::{
    corrupt, date_text, db_error, get, get_bool, id_of, is_foreign_key_violation, now_ms,
    scope_args, time, Arg, List, SqlStore, IN_SCOPE,
};

/// Members with their cell's path, which decides who sees them.
const MEMBER_COLUMNS: &str = "m.id, m.name, m.email, m.org_unit_id, m.status, m.phone, \
     m.joined_on, m.notes, m.avatar_file_id, m.created_at, ou.path AS unit_path";
const MEMBER_FROM: &str = "members m JOIN org_units ou ON ou.id = m.org_unit_id";

/// Up to how many matches a search sorts its matches for the page rather than walking the
/// sort's index (`list_members`): a few milliseconds per thousand.
const SORT_MATCHES_UP_TO: i64 = 10_000;

/// How many rows the search-text backfill rewrites per round.
const BACKFILL_BATCH: i64 = 500;

/// A member of a search's page with the number of matches (`matches`).
fn member_and_matches(row: &AnyRow) -> DomainResult<(Member, i64)> {
    Ok((member_from_row(row)?, get(row, "matches")?))
}

fn member_from_row(row: &AnyRow) -> DomainResult<Member> {
    let status: String = get(row, "status")?;
    let joined_on: Option<String> = get(row, "joined_on")?;
    let joined_on = joined_on
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| corrupt("joined_on", &raw))
        })
        .transpose()?;
    Ok(Member {
        id: MemberId(get(row, "id")?),
        name: get(row, "name")?,
        email: get(row, "email")?,
        org_unit_id: OrgUnitId(get(row, "org_unit_id")?),
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        status: MemberStatus::from_str(&status).map_err(|_| corrupt("member status", &status))?,
        phone: get(row, "phone")?,
        joined_on,
        notes: get(row, "notes")?,
        avatar_file_id: get::<Option<i64>>(row, "avatar_file_id")?.map(FileId),
        created_at: time(get(row, "created_at")?),
    })
}

/// `text` as a `LIKE` pattern that matches it anywhere, literally: `\`, `%` and `_` escaped
/// with `\` (the query says `ESCAPE '\'`).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A write the database refused for a foreign key: the service checked the cell and the avatar
/// file, so one of them was deleted in between. The answer is the 422 the check would have given
/// a moment later (the avatar when one was set, else the cell), not a 500.
fn gone_between_check_and_write(e: sqlx::Error, with_avatar: bool) -> DomainError {
    if !is_foreign_key_violation(&e) {
        return db_error(e);
    }
    if with_avatar {
        DomainError::invalid("avatar_file_id", "no such file in your scope")
    } else {
        DomainError::invalid("org_unit_id", "no such cell in your scope")
    }
}

/// The `ORDER BY` of a sort: ties by id in the same direction; no joining date sorts last
/// both ways.
fn order_by(sort: MemberSort) -> &'static str {
    match sort {
        MemberSort::Id => "m.id",
        MemberSort::Name => "m.search_text, m.id",
        MemberSort::NameDesc => "m.search_text DESC, m.id DESC",
        MemberSort::JoinedOn => "m.joined_on ASC NULLS LAST, m.id",
        MemberSort::JoinedOnDesc => "m.joined_on DESC NULLS LAST, m.id DESC",
    }
}

impl SqlStore {
    /// Writes the search text of every member still without one (rows from before the
    /// migration that added it): in batches, so a large table never holds one long lock.
    /// Answers how many rows it wrote.
    pub(crate) async fn backfill_member_search(&self) -> DomainResult<u64> {
        let mut written = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, name, email FROM members WHERE search_text = '' ORDER BY id LIMIT $1",
            )
            .bind(BACKFILL_BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
            if rows.is_empty() {
                return Ok(written);
            }
            let mut tx = self.begin_write().await?;
            for row in &rows {
                let id: i64 = row.try_get("id").map_err(db_error)?;
                let name: String = row.try_get("name").map_err(db_error)?;
                let email: Option<String> = row.try_get("email").map_err(db_error)?;
                sqlx::query("UPDATE members SET search_text = $2 WHERE id = $1")
                    .bind(id)
                    .bind(search_text(&name, email.as_deref()))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                written += 1;
            }
            tx.commit().await.map_err(db_error)?;
        }
    }
}

#[async_trait]
impl MemberRepo for SqlStore {
    async fn insert_member(&self, member: NewMember) -> DomainResult<Member> {
        let row = sqlx::query(
            "INSERT INTO members (name, email, org_unit_id, status, phone, joined_on, notes, \
             avatar_file_id, search_text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&member.name)
        .bind(&member.email)
        .bind(member.org_unit_id.0)
        .bind(member.status.as_str())
        .bind(&member.phone)
        .bind(member.joined_on.map(date_text))
        .bind(&member.notes)
        .bind(member.avatar_file_id.map(|f| f.0))
        .bind(search_text(&member.name, member.email.as_deref()))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| gone_between_check_and_write(e, member.avatar_file_id.is_some()))?;
        self.member_by_id(MemberId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM} WHERE m.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(member_from_row).transpose()
    }

    async fn member_has_money(&self, id: MemberId) -> DomainResult<bool> {
        let row = sqlx::query(
            "SELECT (EXISTS (SELECT 1 FROM dues WHERE member_id = $1) \
                  OR EXISTS (SELECT 1 FROM payments WHERE member_id = $1)) AS referred",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        get_bool(&row, "referred")
    }

    async fn list_members(
        &self,
        filter: MemberFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Member>> {
        // A treasurer also sees every member that dues or payments refer to. Each filter is
        // in the SQL only when asked for, so the planner sees (and indexes) what is really there.
        let mut condition = format!(
            "({IN_SCOPE} OR (CAST($4 AS BIGINT) = 1 AND (EXISTS (SELECT 1 FROM dues d WHERE d.member_id = m.id) \
                 OR EXISTS (SELECT 1 FROM payments p WHERE p.member_id = m.id))))"
        );
        let [all, start, end] = scope_args(&filter.units);
        let mut args = vec![
            all,
            start,
            end,
            Arg::Int(Some(i64::from(filter.with_money))),
        ];
        if let Some(status) = filter.status {
            args.push(Arg::Text(Some(status.as_str().to_owned())));
            condition.push_str(&format!(" AND m.status = ${}", args.len()));
        }
        if let Some(subtree) = &filter.subtree {
            let (start, end) = subtree.subtree_range();
            args.push(Arg::Text(Some(start)));
            args.push(Arg::Text(Some(end)));
            condition.push_str(&format!(
                " AND ou.path >= ${} AND ou.path < ${}",
                args.len() - 1,
                args.len()
            ));
        }
        if let Some(q) = &filter.q {
            let pattern = contains_pattern(q);
            if filter.with_money {
                // Outside its scope a treasurer does not see emails, so it must not find members
                // by them either: there the match must lie in the name, before the separator.
                args.push(Arg::Text(Some(format!("{pattern}{SEARCH_SEPARATOR}%"))));
                args.push(Arg::Text(Some(pattern)));
                condition.push_str(&format!(
                    " AND (m.search_text LIKE ${} ESCAPE '\\' \
                      OR ({IN_SCOPE} AND m.search_text LIKE ${} ESCAPE '\\'))",
                    args.len() - 1,
                    args.len()
                ));
            } else {
                args.push(Arg::Text(Some(pattern)));
                condition.push_str(&format!(
                    " AND m.search_text LIKE ${} ESCAPE '\\'",
                    args.len()
                ));
            }
        }
        let list = List {
            columns: MEMBER_COLUMNS,
            from: MEMBER_FROM,
            condition: &condition,
            order: order_by(filter.sort),
        };
        if filter.q.is_none() {
            return self
                .paged_planned_per_call(list, &args, page, member_from_row)
                .await;
        }
        // A search's page: where the matches are few, from the matches themselves (the
        // trigram index finds them, a few thousand sort in a few milliseconds), counted in the
        // same statement; walking the name index instead, the planner expects matches spread
        // evenly, but "joão" sorts after every name from "a" to "j", so the walk reads tens of
        // thousands of rows before the first. Where matches are many (more than the cap), they
        // are dense enough for the walk to meet a page soon.
        let select = format!(
            "WITH hits AS MATERIALIZED (SELECT m.id, m.search_text, m.joined_on \
             FROM {MEMBER_FROM} WHERE {condition} LIMIT {cap}), \
             pg AS (SELECT m.id, m.search_text, m.joined_on FROM hits m \
             ORDER BY {order} LIMIT ${} OFFSET ${}) \
             SELECT {MEMBER_COLUMNS}, (SELECT COUNT(*) FROM hits) AS matches \
             FROM pg JOIN members m ON m.id = pg.id \
             JOIN org_units ou ON ou.id = m.org_unit_id \
             ORDER BY {order}",
            args.len() + 1,
            args.len() + 2,
            cap = SORT_MATCHES_UP_TO + 1,
            order = order_by(filter.sort),
        );
        let rows = self
            .rows_as(&select, &args, page, member_and_matches, false)
            .await?;
        let matches = rows.first().map(|(_, n)| *n);
        match matches {
            Some(total) if total <= SORT_MATCHES_UP_TO => Ok(Page {
                items: rows.into_iter().map(|(m, _)| m).collect(),
                total,
            }),
            // No match at all, or none from this page on: then the count alone says which.
            None if page.offset() == 0 => Ok(Page {
                items: Vec::new(),
                total: 0,
            }),
            _ => {
                self.paged_planned_per_call(list, &args, page, member_from_row)
                    .await
            }
        }
    }

    async fn update_member(&self, id: MemberId, change: &MemberUpdate) -> DomainResult<Member> {
        // For each clearable field: whether to set it, and to what.
        fn set<T: Clone>(field: &Option<Option<T>>) -> (i64, Option<T>) {
            match field {
                None => (0, None),
                Some(value) => (1, value.clone()),
            }
        }
        let (set_email, email) = set(&change.email);
        let (set_phone, phone) = set(&change.phone);
        let (set_joined_on, joined_on) = set(&change.joined_on);
        let (set_notes, notes) = set(&change.notes);
        let (set_avatar, avatar) = set(&change.avatar_file_id);
        // The search text follows the name and email in the same transaction.
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE members SET name = COALESCE($2, name), \
             email = CASE WHEN CAST($3 AS BIGINT) = 1 THEN CAST($4 AS TEXT) ELSE email END, \
             org_unit_id = COALESCE($5, org_unit_id), status = COALESCE($6, status), \
             phone = CASE WHEN CAST($7 AS BIGINT) = 1 THEN CAST($8 AS TEXT) ELSE phone END, \
             joined_on = CASE WHEN CAST($9 AS BIGINT) = 1 THEN CAST($10 AS TEXT) ELSE joined_on END, \
             notes = CASE WHEN CAST($11 AS BIGINT) = 1 THEN CAST($12 AS TEXT) ELSE notes END, \
             avatar_file_id = CASE WHEN CAST($13 AS BIGINT) = 1 THEN CAST($14 AS BIGINT) \
                              ELSE avatar_file_id END \
             WHERE id = $1 RETURNING name, email",
        )
        .bind(id.0)
        .bind(&change.name)
        .bind(set_email)
        .bind(email)
        .bind(change.org_unit_id.map(|u| u.0))
        .bind(change.status.map(MemberStatus::as_str))
        .bind(set_phone)
        .bind(phone)
        .bind(set_joined_on)
        .bind(joined_on.map(date_text))
        .bind(set_notes)
        .bind(notes)
        .bind(set_avatar)
        .bind(avatar.map(|f| f.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| gone_between_check_and_write(e, matches!(change.avatar_file_id, Some(Some(_)))))?
        .ok_or(DomainError::NotFound("member"))?;
        let name: String = get(&row, "name")?;
        let email: Option<String> = get(&row, "email")?;
        sqlx::query("UPDATE members SET search_text = $2 WHERE id = $1")
            .bind(id.0)
            .bind(search_text(&name, email.as_deref()))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.member_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn delete_member(&self, id: MemberId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM members WHERE id = $1",
            id.0,
            ErrorCode::MemberInUse,
            "dues or payments refer to this member: set its status to inactive instead",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use sqlx::Connection;
    use tessera_domain::access::UnitScope;

    /// A member written before the search text existed (the column's empty default) is
    /// searchable once the store has migrated again, as at the next start.
    async fn rows_from_before_the_search_text_are_filled_when_migrating(store: SqlStore) {
        store.migrate().await.unwrap();
        sqlx::query(
            "INSERT INTO org_units (name, kind, parent_id, path, created_at) \
             VALUES ('Cell', 'cell', NULL, '/1/', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO members (name, email, org_unit_id, status, created_at) \
             VALUES ('João Silva', 'js@x.org', 1, 'active', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let stored = |store: SqlStore| async move {
            let row = sqlx::query("SELECT search_text FROM members")
                .fetch_one(&store.pool)
                .await
                .unwrap();
            row.try_get::<String, _>("search_text").unwrap()
        };
        assert_eq!(stored(store.clone()).await, "");
        store.migrate().await.unwrap();
        assert_eq!(
            stored(store.clone()).await,
            search_text("João Silva", Some("js@x.org"))
        );
        let found = store
            .list_members(
                MemberFilter {
                    units: UnitScope::All,
                    with_money: false,
                    status: None,
                    subtree: None,
                    q: Some("joao".into()),
                    sort: MemberSort::Name,
                },
                PageRequest::parse(None, None).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(store.backfill_member_search().await.unwrap(), 0);

        // An avatar file deleted after the service checked it: a 422 on the field, not a 500.
        let member = |avatar: i64| NewMember {
            name: "Late".into(),
            email: None,
            org_unit_id: OrgUnitId(1),
            status: MemberStatus::Active,
            phone: None,
            joined_on: None,
            notes: None,
            avatar_file_id: Some(FileId(avatar)),
        };
        let refused_on = |result: DomainResult<Member>| match result {
            Err(DomainError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        };
        assert_eq!(
            refused_on(store.insert_member(member(999)).await),
            "avatar_file_id"
        );
        let change = MemberUpdate {
            avatar_file_id: Some(Some(FileId(999))),
            ..MemberUpdate::default()
        };
        assert_eq!(
            refused_on(store.update_member(MemberId(1), &change).await),
            "avatar_file_id"
        );
        let change = MemberUpdate {
            org_unit_id: Some(OrgUnitId(999)),
            ..MemberUpdate::default()
        };
        assert_eq!(
            refused_on(store.update_member(MemberId(1), &change).await),
            "org_unit_id"
        );
        let unchanged = store.member_by_id(MemberId(1)).await.unwrap().unwrap();
        assert_eq!(unchanged.org_unit_id, OrgUnitId(1));
        assert_eq!(unchanged.avatar_file_id, None);
    }

    #[tokio::test]
    async fn sqlite_fills_the_search_text_of_old_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&super::super::sqlite_url(dir.path()), 2)
            .await
            .unwrap();
        rows_from_before_the_search_text_are_filled_when_migrating(store).await;
    }

    /// On PostgreSQL when the test services run (`scripts/services up`).
    #[tokio::test]
    async fn postgres_fills_the_search_text_of_old_rows() {
        let Ok(admin_url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
            return;
        };
        let name = format!("tessera_infra_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        let store = SqlStore::connect(url.as_str(), 2).await.unwrap();
        rows_from_before_the_search_text_are_filled_when_migrating(store.clone()).await;
        store.close().await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }

    #[test]
    fn search_patterns_match_wildcards_literally() {
        assert_eq!(contains_pattern("joao"), "%joao%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
