//! Lists answer one page at a time: `?page=&per_page=` in, [`Page<T>`] out.

use serde::{Deserialize, Serialize};
use tessera_domain::shared::{Page as Found, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::http::problem::ApiError;

/// Which page to answer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

impl PageQuery {
    /// The page asked for, checked.
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.page, self.per_page)?)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// The page number (1-based).
    #[schema(minimum = 1)]
    pub page: u32,
    /// The page size.
    #[schema(minimum = 1, maximum = 100)]
    pub per_page: u32,
    /// How many items the caller sees with these filters, on every page.
    #[schema(minimum = 0)]
    pub total: i64,
}

impl<T> Page<T> {
    /// The page of `found` asked for by `request`, each item shown by `show`.
    pub fn of<D>(found: Found<D>, request: PageRequest, show: impl FnMut(D) -> T) -> Self {
        Self {
            items: found.items.into_iter().map(show).collect(),
            page: request.page,
            per_page: request.per_page,
            total: found.total,
        }
    }
}
