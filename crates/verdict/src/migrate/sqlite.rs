//! The SQLite side of a migration: a plain connection to the file (the
//! store has created or migrated it first).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params_from_iter};

use super::tables::{self, Column, Kind, Plan, Schema, Value, quote};

pub struct Sqlite {
    conn: Connection,
}

fn err(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Sqlite {
    /// A connection to an existing file; a read-only one changes nothing
    /// in it (not even a checkpoint when it closes).
    pub fn open(path: &Path, read_only: bool) -> Result<Sqlite, String> {
        let access = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // A server writing to the source holds the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err("busy timeout"))?;
        Ok(Sqlite { conn })
    }

    /// Every table and its columns.
    pub fn schema(&self) -> Result<Schema, String> {
        let mut names = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .map_err(err("reading the tables"))?;
        let names = names
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("reading the tables"))?;
        let mut schema = Schema::new();
        for name in names {
            if tables::is_bookkeeping(&name) {
                continue;
            }
            let mut info = self
                .conn
                .prepare(&format!("PRAGMA table_info({})", quote(&name)))
                .map_err(err("reading the columns"))?;
            let columns = info
                .query_map([], |r| {
                    let name: String = r.get(1)?;
                    let declared: String = r.get(2)?;
                    let pk: i64 = r.get(5)?;
                    Ok((name, declared, pk))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err("reading the columns"))?;
            let columns = columns
                .into_iter()
                .map(|(col, declared, pk)| {
                    Ok(Column {
                        kind: kind_of(&declared)
                            .ok_or_else(|| format!("column {name}.{col} has the type {declared:?}, which cannot be copied"))?,
                        name: col,
                        pk: usize::try_from(pk - 1).ok(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            schema.insert(name, columns);
        }
        Ok(schema)
    }

    /// The listed tables that hold at least one row.
    pub fn tables_with_rows(&self, tables: &[&str]) -> Result<Vec<String>, String> {
        let schema = self.schema()?;
        let mut full = Vec::new();
        for &t in tables {
            if !schema.contains_key(t) {
                continue;
            }
            let any: bool = self
                .conn
                .query_row(
                    &format!("SELECT EXISTS (SELECT 1 FROM {})", quote(t)),
                    [],
                    |r| r.get(0),
                )
                .map_err(err("looking for rows"))?;
            if any {
                full.push(t.to_string());
            }
        }
        Ok(full)
    }

    /// Starts the read transaction every read after it sees: one snapshot
    /// of the file, whatever a server writes meanwhile (WAL).
    pub fn begin_snapshot(&self) -> Result<(), String> {
        self.conn
            .execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_master;")
            .map_err(err("starting the read transaction"))
    }

    /// Starts the one write transaction the whole copy is made in.
    pub fn begin_write(&self) -> Result<(), String> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(err("starting the write transaction"))
    }

    pub fn commit(&self) -> Result<(), String> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(err("committing the copy"))
    }

    pub fn count(&self, plan: &Plan) -> Result<u64, String> {
        let (filter, params) = filter(plan, None);
        let sql = format!("SELECT count(*) FROM {} WHERE {filter}", quote(&plan.table));
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(params.iter().map(to_sql)), |r| {
                r.get(0)
            })
            .map_err(err(&format!("counting {}", plan.table)))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Up to `limit` rows after `after` (a key), in key order.
    pub fn read(
        &self,
        plan: &Plan,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>, String> {
        let columns: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
        let order: Vec<String> = plan
            .key
            .iter()
            .map(|&i| quote(&plan.columns[i].name))
            .collect();
        let (filter, params) = filter(plan, after);
        let sql = format!(
            "SELECT {} FROM {} WHERE {filter} ORDER BY {} LIMIT {limit}",
            columns.join(", "),
            quote(&plan.table),
            order.join(", ")
        );
        let what = format!("reading {}", plan.table);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err(&what))?;
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(to_sql)))
            .map_err(err(&what))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err(&what))? {
            let mut values = Vec::with_capacity(plan.columns.len());
            for (i, c) in plan.columns.iter().enumerate() {
                let v = row.get_ref(i).map_err(err(&what))?;
                values.push(from_sql(v).map_err(|e| format!("{}.{}: {e}", plan.table, c.name))?);
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Inserts rows read by `plan` (inside [`begin_write`](Self::begin_write)).
    pub fn write(&self, plan: &Plan, rows: &[Vec<Value>]) -> Result<(), String> {
        let columns: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            quote(&plan.table),
            columns.join(", ")
        );
        let what = format!("writing {}", plan.table);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err(&what))?;
        for row in rows {
            stmt.execute(params_from_iter(row.iter().map(to_sql)))
                .map_err(err(&what))?;
        }
        Ok(())
    }

    /// The last id handed out for `table` (AUTOINCREMENT tables keep it,
    /// so a deleted id is never reused), if the file keeps one.
    pub fn counter(&self, table: &str) -> Result<Option<i64>, String> {
        let has: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
                [],
                |r| r.get(0),
            )
            .map_err(err("reading the id counters"))?;
        if !has {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = ?1")
            .map_err(err("reading the id counters"))?;
        let mut rows = stmt
            .query([table])
            .map_err(err("reading the id counters"))?;
        match rows.next().map_err(err("reading the id counters"))? {
            Some(r) => Ok(Some(r.get(0).map_err(err("reading the id counters"))?)),
            None => Ok(None),
        }
    }

    /// Sets `table`'s counter to `last` when it keeps one (the rows
    /// inserted already set it to their largest id).
    pub fn set_counter(&self, table: &str, last: i64) -> Result<(), String> {
        let keeps: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1
                     AND sql LIKE '%AUTOINCREMENT%')",
                [table],
                |r| r.get(0),
            )
            .map_err(err("setting the id counters"))?;
        if !keeps || last < 1 {
            return Ok(());
        }
        let updated = self
            .conn
            .execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
                rusqlite::params![table, last],
            )
            .map_err(err("setting the id counters"))?;
        if updated == 0 {
            self.conn
                .execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                    rusqlite::params![table, last],
                )
                .map_err(err("setting the id counters"))?;
        }
        Ok(())
    }
}

/// The WHERE clause of a read: the plan's filter and the rows after a key.
fn filter(plan: &Plan, after: Option<&[Value]>) -> (String, Vec<Value>) {
    let mut clauses = vec!["1 = 1".to_string()];
    let mut params = Vec::new();
    if let Some((i, above)) = plan.newer_than {
        clauses.push(format!("{} > ?", quote(&plan.columns[i].name)));
        params.push(Value::Int(above));
    }
    if let Some(key) = after {
        let names: Vec<String> = plan
            .key
            .iter()
            .map(|&i| quote(&plan.columns[i].name))
            .collect();
        let marks = vec!["?"; key.len()].join(", ");
        clauses.push(format!("({}) > ({marks})", names.join(", ")));
        params.extend(key.iter().cloned());
    }
    (clauses.join(" AND "), params)
}

/// SQLite's type affinity rules, for the types Verdict declares.
fn kind_of(declared: &str) -> Option<Kind> {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Some(Kind::Int)
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Some(Kind::Text)
    } else if d.contains("BLOB") {
        Some(Kind::Blob)
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Some(Kind::Real)
    } else {
        None
    }
}

fn from_sql(v: ValueRef<'_>) -> Result<Value, String> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|_| "text that is not UTF-8".to_string())?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

fn to_sql(v: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::ToSqlOutput::Borrowed;
    match v {
        Value::Null => Borrowed(ValueRef::Null),
        Value::Int(i) => Borrowed(ValueRef::Integer(*i)),
        Value::Real(r) => Borrowed(ValueRef::Real(*r)),
        Value::Text(s) => Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Blob(b) => Borrowed(ValueRef::Blob(b)),
    }
}
