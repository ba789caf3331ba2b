//! Coupon pools: codes uploaded per program and pool, each handed out
//! once. A code is taken with a conditional UPDATE (`reward_id IS NULL`):
//! two servers that pick the same free code both try, one changes the row,
//! the other sees no row changed and picks again.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::coupon_codes;
use super::{DbConnection, StorageResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupon_codes, treat_none_as_default_value = false)]
pub struct CouponRow {
    pub program_id: String,
    pub pool: String,
    pub code: String,
    pub reward_id: Option<String>,
    pub assigned_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
}

/// Adds `codes` to a pool; codes already in it are skipped. Returns how
/// many were new.
pub fn add(
    conn: &mut DbConnection,
    program_id: &str,
    pool: &str,
    codes: &[String],
    now: PrimitiveDateTime,
) -> StorageResult<usize> {
    let rows: Vec<CouponRow> = codes
        .iter()
        .map(|code| CouponRow {
            program_id: program_id.into(),
            pool: pool.into(),
            code: code.clone(),
            reward_id: None,
            assigned_at: None,
            created_at: now,
        })
        .collect();
    let mut added = 0;
    for chunk in rows.chunks(500) {
        macro_rules! insert {
            ($c:expr) => {
                diesel::insert_into(coupon_codes::table).values(chunk).on_conflict_do_nothing().execute($c)?
            };
        }
        added += match conn {
            DbConnection::Sqlite(c) => insert!(c),
            DbConnection::Postgres(c) => insert!(c),
        };
    }
    Ok(added)
}

/// A few free codes of a pool to try, in upload order.
pub fn free_candidates(
    conn: &mut DbConnection,
    program_id: &str,
    pool: &str,
    limit: i64,
) -> StorageResult<Vec<String>> {
    Ok(coupon_codes::table
        .filter(coupon_codes::program_id.eq(program_id))
        .filter(coupon_codes::pool.eq(pool))
        .filter(coupon_codes::reward_id.is_null())
        .order((coupon_codes::created_at.asc(), coupon_codes::code.asc()))
        .limit(limit)
        .select(coupon_codes::code)
        .load(conn)?)
}

/// Gives `code` to `reward_id` if it is still free; whether it did.
pub fn take(
    conn: &mut DbConnection,
    program_id: &str,
    pool: &str,
    code: &str,
    reward_id: &str,
    now: PrimitiveDateTime,
) -> StorageResult<bool> {
    let target = coupon_codes::table
        .filter(coupon_codes::program_id.eq(program_id))
        .filter(coupon_codes::pool.eq(pool))
        .filter(coupon_codes::code.eq(code))
        .filter(coupon_codes::reward_id.is_null());
    let changed = diesel::update(target)
        .set((coupon_codes::reward_id.eq(reward_id), coupon_codes::assigned_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// (pool, total, free) for each pool of a program.
pub fn pool_counts(conn: &mut DbConnection, program_id: &str) -> StorageResult<Vec<(String, i64, i64)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    Ok(coupon_codes::table
        .filter(coupon_codes::program_id.eq(program_id))
        .group_by(coupon_codes::pool)
        .select((
            coupon_codes::pool,
            sql::<BigInt>("COUNT(*)"),
            sql::<BigInt>("COUNT(CASE WHEN coupon_codes.reward_id IS NULL THEN 1 END)"),
        ))
        .order(coupon_codes::pool.asc())
        .load(conn)?)
}
