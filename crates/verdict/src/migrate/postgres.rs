//! The PostgreSQL side of a migration: one direct connection (the store
//! has created or migrated the schema first).

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use verdict_postgres::PgConfig;

use super::tables::{self, COUNT_STRIPES, Column, Kind, Plan, Schema, Value, quote};

pub struct Postgres {
    client: Client,
}

fn err(what: &str) -> impl Fn(tokio_postgres::Error) -> String + '_ {
    move |e| match e.as_db_error() {
        Some(db) => format!("{what}: {}", db.message()),
        None => match e.source() {
            Some(cause) => format!("{what}: {e}: {cause}"),
            None => format!("{what}: {e}"),
        },
    }
}

impl Postgres {
    pub async fn connect(config: &PgConfig) -> Result<Postgres, String> {
        let client = verdict_postgres::connect_client(config).await?;
        // A copy may take longer than any statement bound in the URL.
        client
            .batch_execute("SET statement_timeout = 0")
            .await
            .map_err(err("configuring the connection"))?;
        Ok(Postgres { client })
    }

    /// Every table of the current schema and its columns.
    pub async fn schema(&self) -> Result<Schema, String> {
        let rows = self
            .client
            .query(
                "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                        (SELECT k.ordinal_position::int
                           FROM information_schema.table_constraints t
                           JOIN information_schema.key_column_usage k
                             ON k.constraint_name = t.constraint_name
                            AND k.table_schema = t.table_schema
                            AND k.table_name = t.table_name
                          WHERE t.constraint_type = 'PRIMARY KEY'
                            AND t.table_schema = c.table_schema
                            AND t.table_name = c.table_name
                            AND k.column_name = c.column_name)
                   FROM information_schema.columns c
                   JOIN information_schema.tables tb
                     ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
                  WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE'
                  ORDER BY c.table_name, c.ordinal_position",
                &[],
            )
            .await
            .map_err(err("reading the columns"))?;
        let mut schema = Schema::new();
        for row in rows {
            let table: String = row.get(0);
            let name: String = row.get(1);
            let declared: String = row.get(2);
            let pk: Option<i32> = row.get(3);
            if tables::is_bookkeeping(&table) {
                continue;
            }
            let kind = kind_of(&declared).ok_or_else(|| {
                format!("column {table}.{name} has the type {declared:?}, which cannot be copied")
            })?;
            schema.entry(table).or_default().push(Column {
                name,
                kind,
                pk: pk.and_then(|p| usize::try_from(p - 1).ok()),
            });
        }
        Ok(schema)
    }

    /// The listed tables that hold at least one row.
    pub async fn tables_with_rows(&self, tables: &[&str]) -> Result<Vec<String>, String> {
        let schema = self.schema().await?;
        let mut full = Vec::new();
        for &t in tables {
            if !schema.contains_key(t) {
                continue;
            }
            let row = self
                .client
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {})", quote(t)), &[])
                .await
                .map_err(err("looking for rows"))?;
            if row.get::<_, bool>(0) {
                full.push(t.to_string());
            }
        }
        Ok(full)
    }

    /// Starts the transaction every read after it sees: one snapshot,
    /// whatever servers write meanwhile.
    pub async fn begin_snapshot(&self) -> Result<(), String> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(err("starting the read transaction"))
    }

    /// Starts the one transaction the whole copy is written in.
    pub async fn begin_write(&self) -> Result<(), String> {
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(err("starting the write transaction"))
    }

    pub async fn commit(&self) -> Result<(), String> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(err("committing the copy"))
    }

    pub async fn count(&self, plan: &Plan) -> Result<u64, String> {
        let (filter, params) = filter(plan, None);
        let sql = format!(
            "SELECT count(*) FROM {} t WHERE {filter}",
            quote(&plan.table)
        );
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let row = self
            .client
            .query_one(&sql, &params)
            .await
            .map_err(err(&format!("counting {}", plan.table)))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Up to `limit` rows after `after` (a key), in key order; a run's
    /// counts with the sums of its count stripes added.
    pub async fn read(
        &self,
        plan: &Plan,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>, String> {
        let columns: Vec<String> = plan
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if plan.add_stripes.contains(&i) {
                    format!("t.{0} + coalesce(s.{0}, 0)", quote(&c.name))
                } else {
                    format!("t.{}", quote(&c.name))
                }
            })
            .collect();
        let stripes = if plan.add_stripes.is_empty() {
            String::new()
        } else {
            let sums: Vec<String> = plan
                .add_stripes
                .iter()
                .map(|&i| format!("sum({0})::bigint AS {0}", quote(&plan.columns[i].name)))
                .collect();
            format!(
                " LEFT JOIN LATERAL (SELECT {} FROM {} WHERE run_id = t.id) s ON true",
                sums.join(", "),
                quote(COUNT_STRIPES)
            )
        };
        let (filter, params) = filter(plan, after);
        let sql = format!(
            "SELECT {} FROM {} t{stripes} WHERE {filter} ORDER BY {} LIMIT {limit}",
            columns.join(", "),
            quote(&plan.table),
            order(plan).join(", ")
        );
        let what = format!("reading {}", plan.table);
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(&sql, &params).await.map_err(err(&what))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(plan.columns.len());
            for (i, c) in plan.columns.iter().enumerate() {
                let ty = row.columns()[i].type_().clone();
                values.push(
                    from_sql(&row, i, &ty)
                        .map_err(|e| format!("{}.{}: {e}", plan.table, c.name))?,
                );
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Copies rows read by `plan` in (inside [`begin_write`](Self::begin_write)),
    /// with `COPY … FROM STDIN (FORMAT binary)`: an identity column takes
    /// the values given, as with `OVERRIDING SYSTEM VALUE`.
    pub async fn write(&self, plan: &Plan, rows: &[Vec<Value>]) -> Result<(), String> {
        let columns: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
        let what = format!("writing {}", plan.table);
        // The target's own types, which may differ from the source's
        // (a boolean where SQLite keeps an integer).
        let probe = self
            .client
            .prepare(&format!(
                "SELECT {} FROM {} LIMIT 0",
                columns.join(", "),
                quote(&plan.table)
            ))
            .await
            .map_err(err(&what))?;
        let types: Vec<Type> = probe.columns().iter().map(|c| c.type_().clone()).collect();
        let sink = self
            .client
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN (FORMAT binary)",
                quote(&plan.table),
                columns.join(", ")
            ))
            .await
            .map_err(err(&what))?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        futures_util::pin_mut!(writer);
        for row in rows {
            let values: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            writer.as_mut().write(&values).await.map_err(err(&what))?;
        }
        writer.finish().await.map_err(err(&what))?;
        Ok(())
    }

    /// The identity sequence of `table`'s `id`, if it has one.
    async fn sequence(&self, table: &str) -> Result<Option<String>, String> {
        let row = self
            .client
            .query_one(
                "SELECT pg_get_serial_sequence(quote_ident($1), 'id')",
                &[&table],
            )
            .await;
        match row {
            Ok(row) => Ok(row.get(0)),
            // No column `id`.
            Err(e) if e.as_db_error().is_some() => Ok(None),
            Err(e) => Err(err("reading the id counters")(e)),
        }
    }

    /// The last id handed out for `table`, if any was.
    pub async fn counter(&self, table: &str) -> Result<Option<i64>, String> {
        let Some(seq) = self.sequence(table).await? else {
            return Ok(None);
        };
        let row = self
            .client
            .query_one(&format!("SELECT last_value, is_called FROM {seq}"), &[])
            .await
            .map_err(err("reading the id counters"))?;
        let (last, called): (i64, bool) = (row.get(0), row.get(1));
        Ok(called.then_some(last))
    }

    /// The next id of `table` comes after `last`.
    pub async fn set_counter(&self, table: &str, last: i64) -> Result<(), String> {
        let Some(seq) = self.sequence(table).await? else {
            return Ok(());
        };
        let (value, called) = if last >= 1 { (last, true) } else { (1, false) };
        self.client
            .execute(
                "SELECT setval($1::text::regclass, $2, $3)",
                &[&seq, &value, &called],
            )
            .await
            .map_err(err("setting the id counters"))?;
        Ok(())
    }
}

/// The key columns in order; text compared byte by byte, as SQLite does.
fn order(plan: &Plan) -> Vec<String> {
    plan.key
        .iter()
        .map(|&i| {
            let c = &plan.columns[i];
            match c.kind {
                Kind::Text => format!("t.{} COLLATE \"C\"", quote(&c.name)),
                _ => format!("t.{}", quote(&c.name)),
            }
        })
        .collect()
}

fn filter(plan: &Plan, after: Option<&[Value]>) -> (String, Vec<Value>) {
    let mut clauses = vec!["true".to_string()];
    let mut params = Vec::new();
    if let Some((i, above)) = plan.newer_than {
        params.push(Value::Int(above));
        clauses.push(format!(
            "t.{} > ${}",
            quote(&plan.columns[i].name),
            params.len()
        ));
    }
    if let Some(key) = after {
        let marks: Vec<String> = plan
            .key
            .iter()
            .zip(key)
            .map(|(&i, v)| {
                params.push(v.clone());
                match plan.columns[i].kind {
                    Kind::Text => format!("${} COLLATE \"C\"", params.len()),
                    _ => format!("${}", params.len()),
                }
            })
            .collect();
        clauses.push(format!(
            "({}) > ({})",
            order(plan).join(", "),
            marks.join(", ")
        ));
    }
    (clauses.join(" AND "), params)
}

fn kind_of(declared: &str) -> Option<Kind> {
    Some(match declared {
        "smallint" | "integer" | "bigint" => Kind::Int,
        "boolean" => Kind::Bool,
        "real" | "double precision" => Kind::Real,
        "text" | "character varying" | "character" => Kind::Text,
        "bytea" => Kind::Blob,
        _ => return None,
    })
}

fn from_sql(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value, String> {
    let e = |e: tokio_postgres::Error| e.to_string();
    let v = match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(e)?
            .map(|b| Value::Int(i64::from(b))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(e)?
            .map(|n| Value::Int(n.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(e)?
            .map(|n| Value::Int(n.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(e)?.map(Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(e)?
            .map(|r| Value::Real(r.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(e)?
            .map(Value::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => row
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map(Value::Text),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(e)?
            .map(Value::Blob),
        _ => return Err(format!("the type {ty} cannot be copied")),
    };
    Ok(v.unwrap_or(Value::Null))
}

type BoxError = Box<dyn StdError + Sync + Send>;

/// A value written as the column's type asks: an integer as a boolean, a
/// SMALLINT or an INT when the target keeps one (refusing one out of its
/// range).
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::BOOL) => match i {
                0 => false.to_sql(ty, out),
                1 => true.to_sql(ty, out),
                _ => Err(format!("{i} is not a boolean (0 or 1)").into()),
            },
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Real(r), &Type::FLOAT8) => r.to_sql(ty, out),
            (Value::Real(r), &Type::FLOAT4) => (*r as f32).to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(ty, out),
            (Value::Blob(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (v, ty) => Err(format!("{v:?} cannot be written as {ty}").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::BOOL
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::BYTEA
        )
    }

    to_sql_checked!();
}
