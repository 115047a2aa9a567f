//! Lists are read one page at a time.

use crate::shared::error::{DomainError, FieldError};

/// A page request: 1-based page number and page size (1 to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
}

impl PageRequest {
    /// The largest page size allowed.
    pub const MAX_PER_PAGE: u32 = 100;

    /// Parses optional `page` and `per_page` (defaults 1 and 20).
    pub fn parse(page: Option<u32>, per_page: Option<u32>) -> Result<Self, DomainError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        let mut errors = Vec::new();
        if page == 0 || page > 1_000_000 {
            errors.push(FieldError::new("page", "must be 1 or more"));
        }
        if per_page == 0 || per_page > Self::MAX_PER_PAGE {
            errors.push(FieldError::new("per_page", "must be 1 to 100"));
        }
        if errors.is_empty() {
            Ok(Self { page, per_page })
        } else {
            Err(DomainError::Validation(errors))
        }
    }

    /// How many rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// One page of results and the total count.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
}

impl<T> crate::shared::cached::Cacheable for Page<T> where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static
{
}

impl<T> Page<T> {
    /// The same page with each item changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests_default_and_reject_out_of_range() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest {
                page: 1,
                per_page: 20
            }
        );
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(None, Some(101)).is_err());
        assert_eq!(PageRequest::parse(Some(3), Some(10)).unwrap().offset(), 20);
    }
}
