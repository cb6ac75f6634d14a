//! How values the database keeps as text are read back into typed fields:
//! times (RFC 3339 text, see [`crate::clock::stored`]) and JSON lists. Row
//! structs name these with `#[sqlx(try_from = "...")]`; a value that does
//! not parse is a decode error naming its column.

use chrono::{DateTime, Utc};
use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, Type};

use crate::domain::StoredSegment;

/// A stored time.
pub struct StoredTime(DateTime<Utc>);

/// A stored time that may be NULL.
pub struct MaybeStoredTime(Option<DateTime<Utc>>);

/// A JSON value stored as text.
pub struct StoredJson<T>(T);

fn parse_time(text: &str) -> Result<DateTime<Utc>, BoxDynError> {
    crate::clock::parse(text).ok_or_else(|| format!("{text:?} is not an RFC 3339 time").into())
}

impl Type<Any> for StoredTime {
    fn type_info() -> AnyTypeInfo {
        <str as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for StoredTime {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(StoredTime(parse_time(text)?))
    }
}

impl From<StoredTime> for DateTime<Utc> {
    fn from(time: StoredTime) -> Self {
        time.0
    }
}

impl Type<Any> for MaybeStoredTime {
    fn type_info() -> AnyTypeInfo {
        <str as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for MaybeStoredTime {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <Option<&str> as Decode<'r, Any>>::decode(value)? {
            Some(text) => Ok(MaybeStoredTime(Some(parse_time(text)?))),
            None => Ok(MaybeStoredTime(None)),
        }
    }
}

impl From<MaybeStoredTime> for Option<DateTime<Utc>> {
    fn from(time: MaybeStoredTime) -> Self {
        time.0
    }
}

impl<T> Type<Any> for StoredJson<T> {
    fn type_info() -> AnyTypeInfo {
        <str as Type<Any>>::type_info()
    }
}

impl<'r, T: serde::de::DeserializeOwned> Decode<'r, Any> for StoredJson<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(StoredJson(serde_json::from_str(text)?))
    }
}

/// The JSON lists rows hold.
macro_rules! json_list {
    ($($item:ty),+) => {
        $(impl From<StoredJson<Vec<$item>>> for Vec<$item> {
            fn from(json: StoredJson<Vec<$item>>) -> Self {
                json.0
            }
        })+
    };
}

json_list!(StoredSegment, String, super::CapturedFile);

/// JSON text for a column.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values serialise")
}

/// A time as stored.
pub fn time(time: DateTime<Utc>) -> String {
    crate::clock::stored(time)
}
