//! The answers' bodies as named components: `{"data": …}` around one entity
//! (`ProjectData`) and a page of them (`ProjectPage`), each referencing the
//! entity's own component (`Project`) with `$ref`. utoipa would name a
//! generic `Data<Project>` `Data_Project` and copy `Project`'s fields into
//! it, leaving `Project` unused and handing generated clients a second,
//! oddly named model per entity (`DataProjectData`). A handler's
//! `#[utoipa::path]` names these: `body = ProjectData`.

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use verdict_api as api;
use verdict_api::schema::schema;

use super::JunitAnswer;

fn reference<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// `T`'s component and everything it references.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into(), T::schema()));
    T::schemas(schemas);
}

fn data<T: ToSchema>() -> RefOr<Schema> {
    schema(json!({
        "type": "object",
        "description": format!("`{{\"data\": …}}` with one `{}`.", T::name()),
        "required": ["data"],
        "properties": { "data": reference::<T>() },
    }))
}

fn page<T: ToSchema>() -> RefOr<Schema> {
    schema(json!({
        "type": "object",
        "description": format!("A page of `{}`, and where it stands in the whole list.", T::name()),
        "required": ["data", "meta"],
        "properties": {
            "data": { "type": "array", "items": reference::<T>() },
            "meta": reference::<api::Meta>(),
        },
    }))
}

/// `{"data": [...]}`: a whole list, not paged.
fn list<T: ToSchema>() -> RefOr<Schema> {
    schema(json!({
        "type": "object",
        "description": format!("Every `{}` asked for, in order.", T::name()),
        "required": ["data"],
        "properties": {
            "data": { "type": "array", "items": reference::<T>() },
        },
    }))
}

/// Declares the wrappers: `data Entity => EntityData;` for one,
/// `page Entity => EntityPage;` for a page, `list Entity => EntityList;`
/// for a whole list.
macro_rules! bodies {
    ($($kind:ident $entity:ty => $name:ident;)*) => {$(
        #[doc = concat!("The body of an answer: ", stringify!($kind), " of `", stringify!($entity), "`.")]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $kind::<$entity>()
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                collect::<$entity>(schemas);
                if stringify!($kind) == "page" {
                    collect::<api::Meta>(schemas);
                }
            }
        }
    )*};
}

bodies! {
    data api::User => UserData;
    page api::User => UserPage;
    data api::NewToken => NewTokenData;
    page api::Token => TokenPage;
    data api::Project => ProjectData;
    page api::Project => ProjectPage;
    data api::Member => MemberData;
    page api::Member => MemberPage;
    data api::Case => CaseData;
    page api::Case => CasePage;
    data api::BulkCasesOutcome => BulkCasesOutcomeData;
    data api::Run => RunData;
    page api::Run => RunPage;
    data api::TestResult => TestResultData;
    page api::TestResult => TestResultPage;
    data api::BulkOutcome => BulkOutcomeData;
    data api::Assigned => AssignedData;
    page api::WorkItem => WorkItemPage;
    page api::Execution => ExecutionPage;
    data JunitAnswer => JunitAnswerData;
    data api::Health => HealthData;
    page api::FailureGroup => FailureGroupPage;
    page api::FlakyCase => FlakyCasePage;
    page api::CaseRunResult => CaseRunResultPage;
    page api::CaseDurations => CaseDurationsPage;
    list api::TrendRow => TrendRowList;
    data api::Gate => GateData;
    list api::Section => SectionList;
    data api::Revoked => RevokedData;
    list api::Attachment => AttachmentList;
    data api::Attachment => AttachmentData;
    data api::NewWebhook => NewWebhookData;
    data api::Webhook => WebhookData;
    page api::Webhook => WebhookPage;
    page api::Delivery => DeliveryPage;
    data api::Queued => QueuedData;
}
