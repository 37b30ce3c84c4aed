//! What is copied, in which order, and how a table's rows are compared
//! between two databases of different kinds.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The tables copied, parents before children (every reference points to
/// a table earlier in the list).
pub const TABLES: &[&str] = &[
    "users",
    "tokens",
    "projects",
    "members",
    "testrail_sections",
    "cases",
    "runs",
    "results",
    "history",
    "idempotency",
    "attachments",
    "webhooks",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
];

/// Tables one backend keeps beside the others, whose rows can be rebuilt
/// from them: not copied. `run_count_stripes` (PostgreSQL) holds deltas
/// of a run's counts, added to `runs` when read; the copy reads `runs`
/// with them added (see [`COUNT_STRIPES`]). `webhook_fanout` (SQLite)
/// marks how far the delivery worker has made events' deliveries, which
/// each event's `fanned` also says; a SQLite target starts without it and
/// the worker's first look reads the events from the first.
pub const DERIVED: &[&str] = &["run_count_stripes", "webhook_fanout"];

/// The table of count deltas a PostgreSQL source adds to `runs`.
pub const COUNT_STRIPES: &str = "run_count_stripes";

/// Tables that hold the schema's own bookkeeping, never data.
pub const BOOKKEEPING: &[&str] = &["verdict_migrations", "sqlite_sequence"];

/// Whether a table holds the schema's or the engine's own bookkeeping.
pub fn is_bookkeeping(table: &str) -> bool {
    BOOKKEEPING.contains(&table) || table.starts_with("sqlite_")
}

/// The table whose rows name stored files, and the column naming them.
pub const ATTACHMENTS: (&str, &str) = ("attachments", "sha256");

/// Idempotency records older than the store's window are dead: a retry
/// would not find them. Only live ones are copied.
pub const IDEMPOTENCY: (&str, &str) = ("idempotency", "created_at");

/// How a column's values are read and written. Booleans are kept as
/// integers 0 and 1 (SQLite's form), so both sides hash alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Real,
    Text,
    Blob,
}

/// One column of a table, as the database describes it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// Position in the primary key (0 first), if part of it.
    pub pk: Option<usize>,
}

/// Every table of a database: its columns in their order.
pub type Schema = BTreeMap<String, Vec<Column>>;

/// A value as both backends can hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The canonical encoding every checksum hashes: a tag, then the
    /// value (integers and reals as 8 big-endian bytes, text and blobs
    /// with their length first).
    fn hash_into(&self, h: &mut Sha256) {
        match self {
            Value::Null => h.update([0]),
            Value::Int(i) => {
                h.update([1]);
                h.update(i.to_be_bytes());
            }
            Value::Real(r) => {
                h.update([2]);
                h.update(r.to_bits().to_be_bytes());
            }
            Value::Text(s) => {
                h.update([3]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            Value::Blob(b) => {
                h.update([4]);
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
        }
    }
}

/// What is read from one table, on either side: the columns both have,
/// in the source's order, and the primary key to walk it by.
#[derive(Debug, Clone)]
pub struct Plan {
    pub table: String,
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order.
    pub key: Vec<usize>,
    /// Only rows whose column (index into `columns`) is above this value.
    pub newer_than: Option<(usize, i64)>,
    /// Columns (indexes into `columns`) to which the sums of the same
    /// columns of [`COUNT_STRIPES`] are added (PostgreSQL reads only).
    pub add_stripes: Vec<usize>,
}

impl Plan {
    /// The key of a row read by this plan, to read on after it.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.key.iter().map(|&i| row[i].clone()).collect()
    }
}

/// Plans the copy of every listed table present in the source. Refuses a
/// source table this build does not know, a table the target lacks, a
/// column the source has and the target lacks, and columns whose kinds
/// cannot be converted.
pub fn plan(source: &Schema, target: &Schema, idempotent_after: i64) -> Result<Vec<Plan>, String> {
    for name in source.keys() {
        let known = TABLES.contains(&name.as_str())
            || DERIVED.contains(&name.as_str())
            || is_bookkeeping(name);
        if !known {
            return Err(format!(
                "the source has a table {name:?} that this version of verdict does not know how to copy; \
                 migrate with the verdict version that created it"
            ));
        }
    }
    let mut plans = Vec::new();
    for &table in TABLES {
        let Some(from) = source.get(table) else {
            return Err(format!(
                "the source has no table {table:?}: is it a Verdict database?"
            ));
        };
        let Some(to) = target.get(table) else {
            return Err(format!(
                "the target has no table {table:?} after its migrations"
            ));
        };
        let mut columns = Vec::new();
        for c in from {
            let Some(t) = to.iter().find(|t| t.name == c.name) else {
                return Err(format!(
                    "the source's table {table} has a column {:?} the target lacks; \
                     migrate with the verdict version that created it",
                    c.name
                ));
            };
            let compatible = c.kind == t.kind
                || matches!(
                    (c.kind, t.kind),
                    (Kind::Int, Kind::Bool) | (Kind::Bool, Kind::Int)
                );
            if !compatible {
                return Err(format!(
                    "column {table}.{} is {:?} in the source and {:?} in the target",
                    c.name, c.kind, t.kind
                ));
            }
            // Booleans hash as integers on both sides.
            let kind = if c.kind == Kind::Bool {
                Kind::Int
            } else {
                c.kind
            };
            columns.push(Column {
                name: c.name.clone(),
                kind,
                pk: c.pk,
            });
        }
        let mut key: Vec<(usize, usize)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.pk.map(|p| (p, i)))
            .collect();
        key.sort_unstable();
        if key.is_empty() {
            return Err(format!("the source's table {table} has no primary key"));
        }
        let key = key.into_iter().map(|(_, i)| i).collect();
        let newer_than = (table == IDEMPOTENCY.0)
            .then(|| columns.iter().position(|c| c.name == IDEMPOTENCY.1))
            .flatten()
            .map(|i| (i, idempotent_after));
        let add_stripes = if table == "runs" {
            stripe_columns(&columns, source)
        } else {
            Vec::new()
        };
        plans.push(Plan {
            table: table.to_string(),
            columns,
            key,
            newer_than,
            add_stripes,
        });
    }
    Ok(plans)
}

/// The columns of `runs` (indexes into `columns`) that a database's
/// count stripes hold too, if it has them.
pub fn stripe_columns(columns: &[Column], schema: &Schema) -> Vec<usize> {
    let Some(stripes) = schema.get(COUNT_STRIPES) else {
        return Vec::new();
    };
    columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.pk.is_none() && c.name != "run_id" && c.name != "stripe")
        .filter(|(_, c)| stripes.iter().any(|s| s.name == c.name))
        .map(|(i, _)| i)
        .collect()
}

/// Rows seen on one side of one table: how many and their checksum
/// (sha256 of the canonical encoding, rows in key order).
#[derive(Default)]
pub struct Tally {
    pub rows: u64,
    hasher: Sha256,
}

impl Tally {
    pub fn add(&mut self, row: &[Value]) {
        self.rows += 1;
        for v in row {
            v.hash_into(&mut self.hasher);
        }
    }

    /// The checksum in hex.
    pub fn finish(self) -> (u64, String) {
        let digest = self.hasher.finalize();
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        (self.rows, hex)
    }
}

/// `"name"`, quoted for either backend.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: Kind, pk: Option<usize>) -> Column {
        Column {
            name: name.into(),
            kind,
            pk,
        }
    }

    fn schema(extra: &[(&str, Vec<Column>)]) -> Schema {
        let mut s: Schema = TABLES
            .iter()
            .map(|t| (t.to_string(), vec![col("id", Kind::Int, Some(0))]))
            .collect();
        for (name, cols) in extra {
            s.insert(name.to_string(), cols.clone());
        }
        s
    }

    #[test]
    fn checksums_tell_values_apart_by_kind_and_boundary() {
        let sum = |rows: &[Vec<Value>]| {
            let mut t = Tally::default();
            rows.iter().for_each(|r| t.add(r));
            t.finish()
        };
        let a = sum(&[vec![Value::Text("ab".into()), Value::Text("c".into())]]);
        let b = sum(&[vec![Value::Text("a".into()), Value::Text("bc".into())]]);
        assert_ne!(a, b);
        let text = sum(&[vec![Value::Text("1".into())]]);
        let blob = sum(&[vec![Value::Blob(b"1".to_vec())]]);
        assert_ne!(text, blob);
        assert_ne!(sum(&[vec![Value::Null]]), sum(&[vec![Value::Int(0)]]));
        assert_eq!(sum(&[vec![Value::Int(7)]]), sum(&[vec![Value::Int(7)]]));
    }

    #[test]
    fn a_column_the_target_lacks_or_an_unknown_table_is_refused() {
        let target = schema(&[]);
        let mut source = schema(&[]);
        source
            .get_mut("cases")
            .unwrap()
            .push(col("colour", Kind::Text, None));
        let e = plan(&source, &target, 0).unwrap_err();
        assert!(e.contains("cases") && e.contains("colour"), "{e}");
        let source = schema(&[("mystery", vec![col("id", Kind::Int, Some(0))])]);
        let e = plan(&source, &target, 0).unwrap_err();
        assert!(e.contains("mystery"), "{e}");
    }

    #[test]
    fn derived_tables_are_skipped_and_their_counts_added_to_runs() {
        let mut source = schema(&[(
            COUNT_STRIPES,
            vec![
                col("run_id", Kind::Int, Some(0)),
                col("stripe", Kind::Int, Some(1)),
                col("passed", Kind::Int, None),
            ],
        )]);
        source.get_mut("runs").unwrap().extend([
            col("name", Kind::Text, None),
            col("passed", Kind::Int, None),
        ]);
        let mut target = schema(&[]);
        target.get_mut("runs").unwrap().extend([
            col("name", Kind::Text, None),
            col("passed", Kind::Int, None),
            col("pos", Kind::Int, None),
        ]);
        let plans = plan(&source, &target, 0).unwrap();
        assert!(plans.iter().all(|p| p.table != COUNT_STRIPES));
        let runs = plans.iter().find(|p| p.table == "runs").unwrap();
        assert_eq!(runs.add_stripes, [2], "passed only");
    }
}
