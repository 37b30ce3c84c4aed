//! The [`Store`] trait, method by method: each one runs one of the resource
//! modules' functions on the writer (`write`, `write_bulk`) or on a read
//! connection (`read`, `point`), in a `debug` span named after the method.
//! The pool enters the caller's span on the thread that runs the work (the
//! writer, the blocking pool), so its SQL is traced under the call that
//! asked for it.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::Connection;
use verdict_store::backend;
use verdict_store::*;

use crate::testrail;
use crate::{
    SqliteStore, attachments, bulk, cases, db_err, import, manual, once, projects, results,
    retention, runs, triage, users, webhooks,
};

#[async_trait]
impl Store for SqliteStore {
    #[tracing::instrument(skip_all, level = "debug")]
    async fn ping(&self) -> StoreResult<()> {
        self.pool
            .read(|c: &Connection| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }

    fn pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn create_user(&self, user: NewUser, now: Timestamp) -> StoreResult<User> {
        self.pool
            .write(move |c| users::create_user(c, &user, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %id))]
    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.pool.point(|c| users::get_user(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(page = page.page))]
    async fn list_users(&self, page: Page) -> StoreResult<Listing<User>> {
        self.pool.read(move |c| users::list_users(c, page)).await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn login_lookup(&self, email: String) -> StoreResult<Option<(User, Option<String>)>> {
        self.pool
            .read(move |c| users::login_lookup(c, &email))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn set_password(&self, user: UserId, hash: Option<String>) -> StoreResult<()> {
        self.pool
            .write(move |c| users::set_password(c, user, hash.as_deref()))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn bootstrap_admin(
        &self,
        token: Option<TokenHash>,
        fresh: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Bootstrap> {
        self.pool
            .write(move |c| users::bootstrap_admin(c, token, fresh, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(public = public.len()))]
    async fn revoke_start_tokens(
        &self,
        keep: Option<TokenHash>,
        public: Vec<TokenHash>,
    ) -> StoreResult<u64> {
        self.pool
            .write(move |c| users::revoke_start_tokens(c, keep.as_ref(), &public))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn create_token(
        &self,
        user: UserId,
        name: String,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Token> {
        self.pool
            .write(move |c| users::create_token(c, user, &name, &hash, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn authenticate(
        &self,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<(User, TokenId)>> {
        let found = self.pool.point(|c| users::authenticate(c, &hash))?;
        let Some((user, token, last_used)) = found else {
            return Ok(None);
        };
        if backend::needs_touch(last_used, now) {
            // Noting the use is not worth failing or delaying the request.
            let pool = Arc::clone(&self.pool);
            let touch = async move {
                let _ = pool.write(move |c| users::touch_token(c, token, now)).await;
            };
            tokio::spawn(tracing::Instrument::in_current_span(touch));
        }
        Ok(Some((user, token)))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<Token>> {
        self.pool.read(move |c| users::list_tokens(c, user)).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(token = %id))]
    async fn get_token(&self, id: TokenId) -> StoreResult<Token> {
        self.pool.point(|c| users::get_token(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(token = %id))]
    async fn delete_token(&self, id: TokenId) -> StoreResult<()> {
        self.pool.write(move |c| users::delete_token(c, id)).await
    }

    // --- manual testing -------------------------------------------------

    #[tracing::instrument(skip_all, level = "debug", fields(project = %id))]
    async fn update_project(&self, id: ProjectId, patch: ProjectPatch) -> StoreResult<Project> {
        self.pool
            .write(move |c| projects::update_project(c, id, &patch))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %id))]
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        self.pool
            .write(move |c| users::update_user(c, id, &patch))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn delete_user_tokens(&self, user: UserId) -> StoreResult<u64> {
        self.pool
            .write(move |c| users::delete_user_tokens(c, user))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_sections(&self, project: ProjectId) -> StoreResult<Vec<Section>> {
        self.pool
            .read(move |c| cases::list_sections(c, project))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn section_case_ids(
        &self,
        project: ProjectId,
        suite: String,
    ) -> StoreResult<Vec<CaseId>> {
        self.pool
            .read(move |c| cases::section_case_ids(c, project, &suite))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn assign_results(
        &self,
        run: RunId,
        target: AssignTarget,
        user: Option<UserId>,
    ) -> StoreResult<u64> {
        self.pool
            .write(move |c| manual::assign_results(c, run, &target, user))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn my_work(&self, user: UserId, page: Page) -> StoreResult<Listing<WorkItem>> {
        self.pool
            .read(move |c| manual::my_work(c, user, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn export_rows(&self, run: RunId) -> StoreResult<Vec<ExportRow>> {
        self.pool.read(move |c| manual::export_rows(c, run)).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(creator = %creator))]
    async fn create_project(
        &self,
        project: NewProject,
        creator: UserId,
        now: Timestamp,
    ) -> StoreResult<Project> {
        self.pool
            .write(move |c| projects::create_project(c, &project, creator, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %id))]
    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        self.pool.point(|c| projects::get_project(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(page = page.page))]
    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: Page,
    ) -> StoreResult<Listing<Project>> {
        self.pool
            .read(move |c| projects::list_projects(c, member, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        self.pool.point(|c| projects::role(c, project, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> StoreResult<Member> {
        self.pool
            .write(move |c| projects::set_member(c, project, user, role))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        self.pool
            .write(move |c| projects::remove_member(c, project, user))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        self.pool
            .read(move |c| projects::list_members(c, project))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_case(
        &self,
        project: ProjectId,
        case: NewCase,
        now: Timestamp,
    ) -> StoreResult<Case> {
        self.pool
            .write(move |c| cases::create_case(c, project, &case, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, cases = new.len()))]
    async fn upsert_cases(
        &self,
        project: ProjectId,
        new: Vec<NewCase>,
        now: Timestamp,
    ) -> StoreResult<Vec<CaseUpsert>> {
        self.pool
            .write(move |c| cases::upsert_cases(c, project, &new, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn get_case(&self, id: CaseId) -> StoreResult<Case> {
        self.pool.point(|c| cases::get_case(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, page = page.page))]
    async fn list_cases(
        &self,
        project: ProjectId,
        query: CaseQuery,
        page: Page,
    ) -> StoreResult<Listing<Case>> {
        self.pool
            .read(move |c| cases::list_cases(c, project, &query, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn update_case(&self, id: CaseId, patch: CasePatch) -> StoreResult<Case> {
        self.pool
            .write(move |c| cases::update_case(c, id, &patch))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn delete_case(&self, id: CaseId) -> StoreResult<()> {
        self.pool.write(move |c| cases::delete_case(c, id)).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_run(
        &self,
        project: ProjectId,
        run: NewRun,
        now: Timestamp,
    ) -> StoreResult<(Run, bool)> {
        self.pool
            .write(move |c| runs::create_run(c, project, &run, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        self.pool.point(|c| runs::get_run(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, page = page.page))]
    async fn list_runs(
        &self,
        project: ProjectId,
        filter: RunFilter,
        page: Page,
    ) -> StoreResult<Listing<Run>> {
        self.pool
            .read(move |c| runs::list_runs(c, project, &filter, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn update_run(&self, id: RunId, patch: RunPatch) -> StoreResult<Run> {
        self.pool
            .write(move |c| runs::update_run(c, id, &patch))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id, cases = cases.len()))]
    async fn add_cases_to_run(&self, id: RunId, cases: Vec<CaseId>) -> StoreResult<Run> {
        self.pool
            .write(move |c| runs::add_cases_to_run(c, id, &cases))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn numbered_sections(&self, project: ProjectId) -> StoreResult<Vec<NumberedSection>> {
        self.pool
            .read(move |c| testrail::numbered_sections(c, project))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn number_sections(
        &self,
        project: ProjectId,
        paths: Vec<String>,
    ) -> StoreResult<Vec<NumberedSection>> {
        self.pool
            .write(move |c| testrail::number_sections(c, project, &paths))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn numbered_section(&self, id: i64) -> StoreResult<NumberedSection> {
        self.pool
            .read(move |c| testrail::numbered_section(c, id))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn delete_numbered_section(&self, id: i64) -> StoreResult<()> {
        self.pool
            .write(move |c| testrail::delete_numbered_section(c, id))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn delete_run(&self, id: RunId) -> StoreResult<PruneOutcome> {
        self.pool.write(move |c| retention::delete_run(c, id)).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn close_run(&self, id: RunId, now: Timestamp) -> StoreResult<Run> {
        self.pool.write(move |c| runs::close_run(c, id, now)).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(actor = %write.actor))]
    async fn write_idempotent(&self, write: IdempotentWrite) -> StoreResult<Answer> {
        self.pool
            .write(move |c| once::write_idempotent(c, &write))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn list_results(
        &self,
        run: RunId,
        query: ResultQuery,
    ) -> StoreResult<Listing<TestResult>> {
        self.pool
            .read(move |c| results::list_results(c, run, &query))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn get_result(&self, run: RunId, id: ResultId) -> StoreResult<TestResult> {
        self.pool.point(|c| results::get_result(c, run, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(result = %id))]
    async fn result_run(&self, id: ResultId) -> StoreResult<RunId> {
        self.pool.point(|c| results::result_run(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn record_result(
        &self,
        run: RunId,
        id: ResultId,
        execution: Execution,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<TestResult> {
        self.pool
            .write(move |c| results::record_result(c, run, id, &execution, actor, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %request.run, entries = request.entries.len()))]
    async fn record_bulk(&self, request: BulkRequest) -> StoreResult<BulkOutcome> {
        self.pool
            .write_bulk(move |c| bulk::record_bulk(c, request))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %request.run, entries = request.entries.len()))]
    async fn import_results(&self, request: ImportRequest) -> StoreResult<ImportOutcome> {
        self.pool
            .write_bulk(move |c| import::import_keyed(c, request))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn result_history(
        &self,
        run: RunId,
        id: ResultId,
        page: Page,
    ) -> StoreResult<Listing<HistoryEntry>> {
        self.pool
            .read(move |c| results::result_history(c, run, id, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, page = page.page))]
    async fn compare_runs(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        categories: Vec<Category>,
        page: Page,
    ) -> StoreResult<Comparison> {
        self.pool
            .read(move |c| triage::compare_runs(c, run, baseline, &categories, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, page = page.page))]
    async fn run_failures(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        per_group: usize,
        page: Page,
    ) -> StoreResult<FailureReport> {
        self.pool
            .read(move |c| triage::run_failures(c, run, baseline, per_group, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn gate_facts(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        ignore_quarantined: bool,
    ) -> StoreResult<GateFacts> {
        self.pool
            .read(move |c| triage::gate_facts(c, run, baseline, ignore_quarantined))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, window = query.window, page = page.page))]
    async fn flaky_cases(
        &self,
        project: ProjectId,
        query: FlakyQuery,
        page: Page,
    ) -> StoreResult<Listing<FlakyCase>> {
        self.pool
            .read(move |c| triage::flaky_cases(c, project, &query, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %case, page = page.page))]
    async fn case_results(
        &self,
        case: CaseId,
        branch: BranchFilter,
        page: Page,
    ) -> StoreResult<Listing<CaseRunResult>> {
        self.pool
            .read(move |c| triage::case_results(c, case, branch.as_deref(), page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, window = query.window, page = page.page))]
    async fn durations(
        &self,
        project: ProjectId,
        query: DurationQuery,
        page: Page,
    ) -> StoreResult<Listing<CaseDurations>> {
        self.pool
            .read(move |c| triage::durations(c, project, &query, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, runs = runs))]
    async fn trends(
        &self,
        project: ProjectId,
        branch: BranchFilter,
        runs: u32,
    ) -> StoreResult<Vec<TrendRow>> {
        self.pool
            .read(move |c| triage::trends(c, project, branch.as_deref(), runs))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %case))]
    async fn set_quarantine(
        &self,
        case: CaseId,
        quarantine: Option<Quarantine>,
    ) -> StoreResult<Case> {
        self.pool
            .write(move |c| cases::set_quarantine(c, case, quarantine.as_ref()))
            .await
    }

    // --- attachments and retention ---------------------------------------

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %result, files = files.len()))]
    async fn add_attachments(
        &self,
        run: RunId,
        result: ResultId,
        files: Vec<NewAttachment>,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<Attachment>> {
        self.pool
            .write(move |c| attachments::add_attachments(c, run, result, &files, actor, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %result))]
    async fn list_attachments(&self, run: RunId, result: ResultId) -> StoreResult<Vec<Attachment>> {
        self.pool
            .read(move |c| attachments::list_attachments(c, run, result))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attachment = %id))]
    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Attachment> {
        self.pool.point(|c| attachments::get_attachment(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attachment = %id))]
    async fn delete_attachment(&self, id: AttachmentId) -> StoreResult<()> {
        self.pool
            .write(move |c| attachments::delete_attachment(c, id))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(digests = digests.len()))]
    async fn referenced_digests(&self, digests: Vec<String>) -> StoreResult<Vec<String>> {
        self.pool
            .read(move |c| attachments::referenced_digests(c, &digests))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(dry_run = request.dry_run))]
    async fn prune(&self, request: PruneRequest) -> StoreResult<PruneOutcome> {
        if request.dry_run {
            return self.pool.read(move |c| retention::prune(c, &request)).await;
        }
        // A transaction of its own with foreign-key checks off: it deletes
        // every row that names what it deletes itself, and the checks
        // would cost a lookup per deleted row.
        self.pool
            .write_bulk(move |c| retention::prune(c, &request))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn reclaim(&self) -> StoreResult<()> {
        self.pool.maintain(retention::reclaim).await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn database_bytes(&self) -> StoreResult<u64> {
        self.pool.read(retention::database_bytes).await
    }

    // --- webhooks ----------------------------------------------------------

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_webhook(
        &self,
        project: ProjectId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        self.pool
            .write(move |c| webhooks::create_webhook(c, project, &webhook, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Webhook> {
        self.pool.point(|c| webhooks::get_webhook(c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_webhooks(&self, project: ProjectId) -> StoreResult<Vec<Webhook>> {
        self.pool
            .read(move |c| webhooks::list_webhooks(c, project))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn update_webhook(&self, id: WebhookId, patch: WebhookPatch) -> StoreResult<Webhook> {
        self.pool
            .write(move |c| webhooks::update_webhook(c, id, &patch))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        self.pool
            .write(move |c| webhooks::delete_webhook(c, id))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn queue_ping(&self, id: WebhookId, now: Timestamp) -> StoreResult<EventId> {
        self.pool
            .write(move |c| webhooks::queue_ping(c, id, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id, event = %event))]
    async fn redeliver(&self, id: WebhookId, event: EventId, now: Timestamp) -> StoreResult<()> {
        self.pool
            .write(move |c| webhooks::redeliver(c, id, event, now))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: Page,
    ) -> StoreResult<Listing<DeliveryAttempt>> {
        self.pool
            .read(move |c| webhooks::list_deliveries(c, id, page))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        if !self.pool.read(move |c| webhooks::any_due(c, now)).await? {
            return Ok(Vec::new());
        }
        self.pool
            .write(move |c| webhooks::claim_deliveries(c, now, until, limit))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(events = events.len()))]
    async fn render_events(
        &self,
        events: Vec<(EventId, String)>,
    ) -> StoreResult<Vec<(EventId, String)>> {
        self.pool
            .write(move |c| webhooks::render_events(c, &events))
            .await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attempts = outcomes.len()))]
    async fn finish_deliveries(&self, outcomes: Vec<DeliveryOutcome>) -> StoreResult<()> {
        self.pool
            .write(move |c| webhooks::finish_deliveries(c, &outcomes))
            .await
    }
}
