//! The storage boundary of Verdict: domain types, the [`Store`] trait that
//! every backend implements, what backends decide without the database (in
//! [`backend`]), and (in [`conformance`]) the behaviour suite each backend
//! must pass. Transactions live inside store methods; callers never see SQL.

mod attachments;
pub mod backend;
pub mod conformance;
mod error;
mod ids;
mod manual;
mod model;
mod once;
mod testrail;
mod time;
mod triage;
mod webhooks;

pub use attachments::*;
pub use error::{FieldError, StoreError, StoreResult};
pub use ids::{
    AttachmentId, BadId, CaseId, EventId, ProjectId, ResultId, RunId, TokenId, UserId, WebhookId,
};
pub use manual::*;
pub use model::*;
pub use once::*;
pub use testrail::*;
pub use time::Timestamp;
pub use triage::*;
pub use webhooks::*;

use async_trait::async_trait;

/// What a start-up bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Nothing to do: the given token already belongs to an admin, or the
    /// database already has users.
    Unchanged,
    /// An admin user was created (and holds the given token).
    CreatedAdmin(User),
}

/// How the store's connections are used right now (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    pub in_use: u64,
    pub idle: u64,
    pub max: u64,
    /// Requests waiting for the database: queued writes, or pool waiters.
    pub waiting: u64,
}

/// Everything Verdict keeps. Implementations are cheap to clone or shared
/// behind an `Arc`; every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Connection use right now; cheap, never touches the database.
    fn pool_status(&self) -> PoolStatus;

    // --- users and tokens -------------------------------------------------

    /// Conflict `duplicate_email` when the email is taken.
    async fn create_user(&self, user: NewUser, now: Timestamp) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    async fn list_users(&self, page: Page) -> StoreResult<Listing<User>>;
    /// For signing in: the user with this email (compared case-insensitively)
    /// and their password hash (PHC string), if they have one.
    async fn login_lookup(&self, email: String) -> StoreResult<Option<(User, Option<String>)>>;
    /// Sets (or with `None` removes) a user's password hash. `NotFound` for
    /// an unknown user.
    async fn set_password(&self, user: UserId, hash: Option<String>) -> StoreResult<()>;
    /// Makes sure an admin exists. With a token hash (the start-up admin
    /// token): an admin user holding that token exists afterwards (created
    /// with `name`/`email` if needed), and the token is marked as given at
    /// start-up, so that [`revoke_start_tokens`](Self::revoke_start_tokens)
    /// revokes it once starts stop giving it. Without: on an empty
    /// database, creates the admin and gives it the token hash `fresh` (the
    /// caller prints the secret once; it is not marked).
    async fn bootstrap_admin(
        &self,
        token: Option<TokenHash>,
        fresh: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Bootstrap>;
    /// Deletes every token marked as given at start-up but `keep` (this
    /// start's admin token, if any), and every token whose hash is in
    /// `public` (known to the world) but `keep`. Returns how many went.
    async fn revoke_start_tokens(
        &self,
        keep: Option<TokenHash>,
        public: Vec<TokenHash>,
    ) -> StoreResult<u64>;
    async fn create_token(
        &self,
        user: UserId,
        name: String,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Token>;
    /// The user holding a token, and the token's id. Also notes the use
    /// (at most about once a minute per token, to keep reads cheap).
    async fn authenticate(
        &self,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<(User, TokenId)>>;
    async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<Token>>;
    async fn get_token(&self, id: TokenId) -> StoreResult<Token>;
    async fn delete_token(&self, id: TokenId) -> StoreResult<()>;
    /// Changes a user's name or admin flag. `NotFound` for an unknown user.
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User>;
    /// Deletes every token of the user (API tokens and browser sessions
    /// alike) and answers how many there were.
    async fn delete_user_tokens(&self, user: UserId) -> StoreResult<u64>;

    // --- projects and members --------------------------------------------

    /// Creates the project with `creator` as its manager.
    async fn create_project(
        &self,
        project: NewProject,
        creator: UserId,
        now: Timestamp,
    ) -> StoreResult<Project>;
    async fn get_project(&self, id: ProjectId) -> StoreResult<Project>;
    /// Renames the project or changes its settings.
    async fn update_project(&self, id: ProjectId, patch: ProjectPatch) -> StoreResult<Project>;
    /// `None` lists every project (for admins).
    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: Page,
    ) -> StoreResult<Listing<Project>>;
    async fn role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>>;
    async fn set_member(&self, project: ProjectId, user: UserId, role: Role)
    -> StoreResult<Member>;
    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<()>;
    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Member>>;

    // --- cases -------------------------------------------------------------

    /// Conflict `duplicate_key` when the key is taken in the project.
    async fn create_case(
        &self,
        project: ProjectId,
        case: NewCase,
        now: Timestamp,
    ) -> StoreResult<Case>;
    /// Upserts by key, in order: a keyed case that exists is updated, every
    /// other entry creates a case.
    async fn upsert_cases(
        &self,
        project: ProjectId,
        cases: Vec<NewCase>,
        now: Timestamp,
    ) -> StoreResult<Vec<CaseUpsert>>;
    async fn get_case(&self, id: CaseId) -> StoreResult<Case>;
    async fn list_cases(
        &self,
        project: ProjectId,
        query: CaseQuery,
        page: Page,
    ) -> StoreResult<Listing<Case>>;
    async fn update_case(&self, id: CaseId, patch: CasePatch) -> StoreResult<Case>;
    /// Removes the case from the project (its key is free again). Runs that
    /// hold it keep their result and its history.
    async fn delete_case(&self, id: CaseId) -> StoreResult<()>;
    /// The project's sections (distinct suites of its cases, the cases
    /// without one as `None` first), by name, each with its case count.
    async fn list_sections(&self, project: ProjectId) -> StoreResult<Vec<Section>>;
    /// The ids of the project's cases in the section or nested in it, by id.
    async fn section_case_ids(&self, project: ProjectId, suite: String)
    -> StoreResult<Vec<CaseId>>;

    /// The project's numbered sections (TestRail compatibility), by id.
    async fn numbered_sections(&self, project: ProjectId) -> StoreResult<Vec<NumberedSection>>;
    /// Numbers the sections of `paths` the project has no number for yet
    /// (a path already numbered keeps its number), and answers every
    /// numbered section of the project, by id.
    async fn number_sections(
        &self,
        project: ProjectId,
        paths: Vec<String>,
    ) -> StoreResult<Vec<NumberedSection>>;
    /// One numbered section; `NotFound` for an unknown number.
    async fn numbered_section(&self, id: i64) -> StoreResult<NumberedSection>;
    /// Forgets a section's number (`NotFound` for an unknown one); cases
    /// are not touched.
    async fn delete_numbered_section(&self, id: i64) -> StoreResult<()>;

    // --- runs ----------------------------------------------------------------

    /// Creates a run (true) or, when `key` names an existing run of the
    /// project, returns that run unchanged (false). Unknown case ids are
    /// `Invalid` naming `case_ids[i]`.
    async fn create_run(
        &self,
        project: ProjectId,
        run: NewRun,
        now: Timestamp,
    ) -> StoreResult<(Run, bool)>;
    async fn get_run(&self, id: RunId) -> StoreResult<Run>;
    /// A run's project and `user`'s role in it (`None`: not a member),
    /// without the run's counts: what a write of one result checks before
    /// writing. The default reads the run, then the role; a backend may
    /// answer both at once.
    async fn run_access(&self, id: RunId, user: UserId) -> StoreResult<(ProjectId, Option<Role>)> {
        let run = self.get_run(id).await?;
        Ok((run.project_id, self.role(run.project_id, user).await?))
    }
    /// Newest first (by id).
    async fn list_runs(
        &self,
        project: ProjectId,
        filter: RunFilter,
        page: Page,
    ) -> StoreResult<Listing<Run>>;
    async fn update_run(&self, id: RunId, patch: RunPatch) -> StoreResult<Run>;
    /// Adds cases (those already in the run are left alone).
    async fn add_cases_to_run(&self, id: RunId, cases: Vec<CaseId>) -> StoreResult<Run>;
    /// Deletes a run, open or closed, with its results, history and
    /// attachment rows, as a prune does (`NotFound` for an unknown run).
    async fn delete_run(&self, id: RunId) -> StoreResult<PruneOutcome>;
    /// Closing a closed run is a no-op that returns it.
    async fn close_run(&self, id: RunId, now: Timestamp) -> StoreResult<Run>;

    // --- retried writes --------------------------------------------------

    /// Applies `write` once under its key, in one transaction: the stored
    /// answer when the actor used the key before for the same request
    /// (`replayed`, nothing applied); `IdempotencyKeyReused` when for
    /// another request; otherwise the write's own answer, rendered and
    /// kept with the write. A write that fails keeps nothing, so its retry
    /// runs again.
    async fn write_idempotent(&self, write: IdempotentWrite) -> StoreResult<Answer>;

    // --- results -------------------------------------------------------------

    async fn list_results(
        &self,
        run: RunId,
        query: ResultQuery,
    ) -> StoreResult<Listing<TestResult>>;
    async fn get_result(&self, run: RunId, id: ResultId) -> StoreResult<TestResult>;
    /// The run holding a result (`NotFound` for an unknown result): for
    /// callers that address a result by its id alone (TestRail's tests).
    async fn result_run(&self, id: ResultId) -> StoreResult<RunId>;
    /// [`record_result`](Store::record_result) as `actor`, only when they
    /// may record results in the run's project (a tester or more; `admin`:
    /// always): `Ok(None)` when they may not, and nothing is written (the
    /// caller tells a hidden run from a missing role with
    /// [`run_access`](Store::run_access)). The default checks, then
    /// records; a backend may do both in one statement.
    async fn record_result_as(
        &self,
        run: RunId,
        id: ResultId,
        execution: Execution,
        actor: UserId,
        admin: bool,
        now: Timestamp,
    ) -> StoreResult<Option<TestResult>> {
        if !admin {
            let (_, role) = self.run_access(run, actor).await?;
            if role.is_none_or(|r| r < Role::Tester) {
                return Ok(None);
            }
        }
        self.record_result(run, id, execution, actor, now)
            .await
            .map(Some)
    }
    /// One execution of one result.
    async fn record_result(
        &self,
        run: RunId,
        id: ResultId,
        execution: Execution,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<TestResult>;
    /// Many executions in one transaction, in request order. Atomic with any
    /// entry refused or naming a case that is not in the run: `Invalid`
    /// naming every such entry's fields in index order, whatever else holds
    /// (a closed run, a reused idempotency key), and nothing written.
    /// Partial: those entries are the outcome's rejections.
    async fn record_bulk(&self, request: BulkRequest) -> StoreResult<BulkOutcome>;
    /// Executions addressed by case key (a JUnit report), in one
    /// transaction like [`record_bulk`](Self::record_bulk): keys resolve to
    /// the run's cases; with `create_missing`, missing cases are created and
    /// project cases outside the run are added to it; unresolved keys are
    /// `Invalid` naming `testcases[i]` (or rejected with code
    /// `case_not_found` when partial). A dry run writes nothing.
    async fn import_results(&self, request: ImportRequest) -> StoreResult<ImportOutcome>;
    /// Assigns results of an open run to `user` (or, with `None`, to
    /// nobody) and answers how many results matched. A closed run is
    /// `Conflict` `run_closed`; ids not in the run are `Invalid` naming
    /// `result_ids[i]`, and nothing is written. Assignment is not an
    /// execution: status, note, tester and history are unchanged.
    async fn assign_results(
        &self,
        run: RunId,
        target: AssignTarget,
        user: Option<UserId>,
    ) -> StoreResult<u64>;
    /// The results assigned to `user` in open runs of projects the user is
    /// a member of: untested first, then by run id, then by result id.
    async fn my_work(&self, user: UserId, page: Page) -> StoreResult<Listing<WorkItem>>;
    /// Every result of the run with its case's key and suite, by result id.
    async fn export_rows(&self, run: RunId) -> StoreResult<Vec<ExportRow>>;
    /// Newest first.
    async fn result_history(
        &self,
        run: RunId,
        id: ResultId,
        page: Page,
    ) -> StoreResult<Listing<HistoryEntry>>;

    // --- triage ------------------------------------------------------------
    //
    // Every method here is a read, except `set_quarantine`. A `baseline`
    // that names an unknown run, a run of another project or the run itself
    // is `Invalid` naming `baseline`; an unknown run or case is `NotFound`.

    /// The run compared with its baseline: the summary over every case,
    /// and one page of the changes in `categories` (every category but
    /// `unchanged` when empty), ordered by category then case id.
    async fn compare_runs(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        categories: Vec<Category>,
        page: Page,
    ) -> StoreResult<Comparison>;
    /// The run's failed results grouped by signature, largest group first,
    /// each with its first `per_group` results (by result id).
    async fn run_failures(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        per_group: usize,
        page: Page,
    ) -> StoreResult<FailureReport>;
    /// What the quality gate checks, with quarantined cases left out of
    /// the counts when `ignore_quarantined`.
    async fn gate_facts(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        ignore_quarantined: bool,
    ) -> StoreResult<GateFacts>;
    /// The project's flaky cases over the latest `window` runs, by score
    /// descending (then retried passes descending, then case id).
    async fn flaky_cases(
        &self,
        project: ProjectId,
        query: FlakyQuery,
        page: Page,
    ) -> StoreResult<Listing<FlakyCase>>;
    /// The case's result in each run that holds it, newest run first.
    async fn case_results(
        &self,
        case: CaseId,
        branch: BranchFilter,
        page: Page,
    ) -> StoreResult<Listing<CaseRunResult>>;
    /// Per case, its durations over the latest `window` runs.
    async fn durations(
        &self,
        project: ProjectId,
        query: DurationQuery,
        page: Page,
    ) -> StoreResult<Listing<CaseDurations>>;
    /// The latest `runs` runs, oldest first.
    async fn trends(
        &self,
        project: ProjectId,
        branch: BranchFilter,
        runs: u32,
    ) -> StoreResult<Vec<TrendRow>>;
    /// Quarantines the case (or with `None` releases it) and returns it.
    /// Quarantining a quarantined case replaces its reason, by and at.
    async fn set_quarantine(
        &self,
        case: CaseId,
        quarantine: Option<Quarantine>,
    ) -> StoreResult<Case>;

    // --- attachments and retention -------------------------------------------
    //
    // An attachment's bytes live in the attachment storage (outside the
    // database) under their sha256; rows name them. Bytes are stored
    // before their row is committed, so a row always has its bytes; bytes
    // no row names are freed by a prune.

    /// Attaches files whose bytes are already stored to the result's
    /// latest execution (`execution` 0 when it has none yet), in order. A
    /// file with the same name and sha256 already on that execution is
    /// returned as it is, not added twice (so a retried upload is
    /// harmless). Unknown run, or a result not in the run: `NotFound`; a
    /// closed run: `Conflict` `run_closed`.
    async fn add_attachments(
        &self,
        run: RunId,
        result: ResultId,
        files: Vec<NewAttachment>,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<Attachment>>;
    /// The result's attachments, by id. `NotFound` as for `add_attachments`.
    async fn list_attachments(&self, run: RunId, result: ResultId) -> StoreResult<Vec<Attachment>>;
    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Attachment>;
    /// Removes the row; its bytes are freed by a prune once no row names
    /// them. `NotFound` for an unknown id.
    async fn delete_attachment(&self, id: AttachmentId) -> StoreResult<()>;
    /// Which of these sha256 digests (lowercase hex) some attachment row
    /// names, in any order.
    async fn referenced_digests(&self, digests: Vec<String>) -> StoreResult<Vec<String>>;
    /// Deletes the runs closed before `closed_before` (of one project, or
    /// of all), with their results, history and attachment rows, in one
    /// transaction, and answers what went. A dry run counts and deletes
    /// nothing. Open runs are never pruned.
    async fn prune(&self, request: PruneRequest) -> StoreResult<PruneOutcome>;
    /// Gives the database's free pages back to the filesystem (after a
    /// prune): SQLite's vacuum, PostgreSQL's `VACUUM` of the tables a
    /// prune empties.
    async fn reclaim(&self) -> StoreResult<()>;
    /// The bytes the database takes on disk now.
    async fn database_bytes(&self) -> StoreResult<u64>;

    // --- webhooks ------------------------------------------------------------
    //
    // Events are written by the writes they report (run created and
    // closed, results recorded), in their transaction, and only when the
    // project has an active webhook subscribed to the type: one delivery
    // row per such webhook.

    async fn create_webhook(
        &self,
        project: ProjectId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook>;
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Webhook>;
    /// The project's webhooks, by id.
    async fn list_webhooks(&self, project: ProjectId) -> StoreResult<Vec<Webhook>>;
    async fn update_webhook(&self, id: WebhookId, patch: WebhookPatch) -> StoreResult<Webhook>;
    /// Removes the webhook with its deliveries and their attempts.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()>;
    /// Queues a `ping` event (data `{webhook_id}`) for this webhook only,
    /// active or not.
    async fn queue_ping(&self, id: WebhookId, now: Timestamp) -> StoreResult<EventId>;
    /// Makes the event's delivery to the webhook due now again (pending,
    /// its 24 hours counted afresh). `NotFound` when the event was never
    /// queued for the webhook.
    async fn redeliver(&self, id: WebhookId, event: EventId, now: Timestamp) -> StoreResult<()>;
    /// The webhook's delivery attempts, newest first.
    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: Page,
    ) -> StoreResult<Listing<DeliveryAttempt>>;
    /// Claims up to `limit` due deliveries (pending, their next attempt
    /// due, no live claim) until `until`, oldest due first; a delivery
    /// claimed by one caller is not claimed by another before `until`.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Keeps each `data` as its event's rendered data unless the event was
    /// rendered already, and answers the data kept for each event found
    /// (the first rendering wins, so every attempt sends the same body);
    /// all in one write.
    async fn render_events(
        &self,
        events: Vec<(EventId, String)>,
    ) -> StoreResult<Vec<(EventId, String)>>;
    /// Logs each attempt and moves its delivery on: delivered, due again
    /// at `next_attempt_at`, or failed; its claim is released. All in one
    /// write.
    async fn finish_deliveries(&self, outcomes: Vec<DeliveryOutcome>) -> StoreResult<()>;
}
