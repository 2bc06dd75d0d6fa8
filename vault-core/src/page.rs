//! Paged listings, shared by every family: a [`PageRequest`] (`limit`, `after` = the last name
//! of the previous page) and a [`Page`] (items, the records that could not be read, `next`).
//!
//! A listing never fails because one record is unreadable: that record is reported in
//! [`Page::unreadable`] with its error, and the other items are listed.

use crate::error::{Error, Result};
use crate::names::check_name;

/// First character of an opaque page cursor. A page whose last record the caller may not see
/// gives a sealed cursor as its `next` instead of that record's name (which would tell the
/// caller a name it may not list); names never contain it.
pub const CURSOR_MARK: char = '~';
/// Longest accepted opaque cursor.
pub const MAX_CURSOR_LEN: usize = 512;

/// Whether `after` has the shape of an opaque cursor: the mark, then base64url.
pub(crate) fn is_cursor(after: &str) -> bool {
    after.len() <= MAX_CURSOR_LEN
        && after.strip_prefix(CURSOR_MARK).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Default page size of a listing.
pub const LIST_DEFAULT_LIMIT: usize = 100;
/// Largest page size of a listing.
pub const LIST_MAX_LIMIT: usize = 1000;

/// Which page of a listing to read: at most `limit` items (default [`LIST_DEFAULT_LIMIT`], at
/// most [`LIST_MAX_LIMIT`]) whose names sort after `after` (from the first when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size.
    pub limit: Option<usize>,
    /// The last name of the previous page (its [`Page::next`]).
    pub after: Option<String>,
}

impl PageRequest {
    /// The first page, of the default size.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// A page of at most `limit` items after `after`.
    pub fn new(limit: Option<usize>, after: Option<String>) -> Self {
        PageRequest { limit, after }
    }

    /// The page size; `invalid` (field `limit`) outside 1 to [`LIST_MAX_LIMIT`].
    pub fn checked_limit(&self) -> Result<usize> {
        let limit = self.limit.unwrap_or(LIST_DEFAULT_LIMIT);
        if limit == 0 || limit > LIST_MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {LIST_MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }

    /// The cursor; `invalid` (field `after`) unless it is a name (what pages end on) or an
    /// opaque cursor a page gave as its `next` (see [`CURSOR_MARK`]).
    pub fn checked_after(&self) -> Result<Option<&str>> {
        match &self.after {
            Some(a) if is_cursor(a) => Ok(Some(a)),
            Some(a) => {
                check_name("after", a)?;
                Ok(Some(a))
            }
            None => Ok(None),
        }
    }
}

/// A record a listing found but could not read (it failed its integrity check, or does not
/// decode): its name and the error reading it gave.
#[derive(Debug, Clone)]
pub struct Unreadable {
    /// The record's name: the credential key, or the strategy id.
    pub name: String,
    /// Why it could not be read (`integrity` for a corrupt record).
    pub error: Error,
}

/// One page of a listing, ordered by name. Derefs to its items, so `page.iter()`,
/// `page.len()` and `for item in page` work as on a `Vec`.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records of this page that could be read, ordered by name.
    pub items: Vec<T>,
    /// The records of this page that could not be read, ordered by name.
    pub unreadable: Vec<Unreadable>,
    /// Present when more records follow: the `after` of the next page.
    pub next: Option<String>,
    /// The listed family's revision when the listing began, where the family keeps one
    /// (configs: the service's revision, to pass to a watch); `None` otherwise.
    pub revision: Option<u64>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            unreadable: Vec::new(),
            next: None,
            revision: None,
        }
    }
}

/// A page equals a vector when it holds exactly those items, nothing unreadable and no more.
impl<T: PartialEq> PartialEq<Vec<T>> for Page<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.unreadable.is_empty() && self.next.is_none() && self.items == *other
    }
}

/// See the other direction.
impl<T: PartialEq> PartialEq<Page<T>> for Vec<T> {
    fn eq(&self, other: &Page<T>) -> bool {
        other == self
    }
}

impl<T> std::ops::Deref for Page<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_and_after_are_checked() {
        assert_eq!(PageRequest::first().checked_limit().ok(), Some(100));
        assert_eq!(
            PageRequest::new(Some(1000), None).checked_limit().ok(),
            Some(1000)
        );
        for bad in [0, 1001] {
            let e = PageRequest::new(Some(bad), None)
                .checked_limit()
                .expect_err("out of range");
            assert_eq!(e.to_string(), "invalid limit: must be 1 to 1000");
        }
        let e = PageRequest::new(None, Some("../x".into()))
            .checked_after()
            .expect_err("not a name");
        assert_eq!(e.field(), Some("after"));
    }

    fn page(items: Vec<u32>) -> Page<u32> {
        Page {
            items,
            ..Page::default()
        }
    }

    #[test]
    fn a_page_equals_a_vec_only_with_the_same_items_nothing_unreadable_and_no_next() {
        assert_eq!(page(vec![1, 2]), vec![1, 2]);
        assert_eq!(vec![1, 2], page(vec![1, 2]));
        assert_eq!(page(vec![]), Vec::<u32>::new());
        // Other items, in either direction.
        assert_ne!(page(vec![1, 2]), vec![2, 1]);
        assert_ne!(page(vec![1, 2]), vec![1]);
        assert_ne!(vec![1, 3], page(vec![1, 2]));
        // The same items, but more follow.
        let more = Page {
            next: Some("2".into()),
            ..page(vec![1, 2])
        };
        assert_ne!(more, vec![1, 2]);
        assert_ne!(vec![1, 2], more);
        // The same items, but a record could not be read.
        let damaged = Page {
            unreadable: vec![Unreadable {
                name: "3".into(),
                error: Error::Integrity,
            }],
            ..page(vec![1, 2])
        };
        assert_ne!(damaged, vec![1, 2]);
        assert_ne!(vec![1, 2], damaged);
    }

    #[test]
    fn a_page_iterates_over_its_items_by_value_and_by_reference() {
        let p = page(vec![1, 2, 3]);
        assert_eq!(p.len(), 3);
        let mut by_ref = Vec::new();
        for item in &p {
            by_ref.push(*item);
        }
        assert_eq!(by_ref, [1, 2, 3]);
        let by_value: Vec<u32> = p.into_iter().collect();
        assert_eq!(by_value, [1, 2, 3]);
    }
}
