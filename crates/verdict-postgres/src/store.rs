//! The [`Store`] trait, method by method: each one is a transaction (or a
//! read) running one of the resource modules' functions, in a `debug` span
//! named after the method (its statements run in the same task, so under
//! that span).

use async_trait::async_trait;
use verdict_store::backend;
use verdict_store::*;

use crate::pool::{read, snapshot, statement, write_tx};
use crate::{
    PgStore, attachments, bulk, cases, import, manual, once, projects, results, retention, runs,
    testrail, triage, users, webhooks,
};

#[async_trait]
impl Store for PgStore {
    #[tracing::instrument(skip_all, level = "debug")]
    async fn ping(&self) -> StoreResult<()> {
        read!(self, |c| async {
            c.simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(crate::error::db_err)
        })
    }

    fn pool_status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            in_use: s.size.saturating_sub(s.available) as u64,
            idle: s.available as u64,
            max: s.max_size as u64,
            waiting: s.waiting as u64,
        }
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn create_user(&self, user: NewUser, now: Timestamp) -> StoreResult<User> {
        write_tx!(self, |tx| users::create_user(&tx, &user, now))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %id))]
    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        read!(self, |c| users::get_user(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn login_lookup(&self, email: String) -> StoreResult<Option<(User, Option<String>)>> {
        read!(self, |c| users::login_lookup(&c, &email))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn set_password(&self, user: UserId, hash: Option<String>) -> StoreResult<()> {
        write_tx!(self, |tx| users::set_password(&tx, user, hash.as_deref()))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(page = page.page))]
    async fn list_users(&self, page: Page) -> StoreResult<Listing<User>> {
        snapshot!(self, |tx| users::list_users(&tx, page))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn bootstrap_admin(
        &self,
        token: Option<TokenHash>,
        fresh: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Bootstrap> {
        write_tx!(self, |tx| users::bootstrap_admin(
            &tx,
            token.as_ref(),
            &fresh,
            now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(public = public.len()))]
    async fn revoke_start_tokens(
        &self,
        keep: Option<TokenHash>,
        public: Vec<TokenHash>,
    ) -> StoreResult<u64> {
        write_tx!(self, |tx| users::revoke_start_tokens(
            &tx,
            keep.as_ref(),
            &public
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn create_token(
        &self,
        user: UserId,
        name: String,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Token> {
        write_tx!(self, |tx| users::create_token(&tx, user, &name, &hash, now))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn authenticate(
        &self,
        hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<(User, TokenId)>> {
        let found = read!(self, |c| users::authenticate(&c, &hash))?;
        let Some((user, token, last_used)) = found else {
            return Ok(None);
        };
        if backend::needs_touch(last_used, now) {
            // Noting the use is not worth failing or delaying the request.
            let store = self.clone();
            let touch = async move {
                let touched = statement!(store, |c| users::touch_token(&c, token, now));
                if let Err(e) = touched {
                    tracing::debug!(error = %e, "could not note a token's use");
                }
            };
            tokio::spawn(tracing::Instrument::in_current_span(touch));
        }
        Ok(Some((user, token)))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<Token>> {
        read!(self, |c| users::list_tokens(&c, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(token = %id))]
    async fn get_token(&self, id: TokenId) -> StoreResult<Token> {
        read!(self, |c| users::get_token(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(token = %id))]
    async fn delete_token(&self, id: TokenId) -> StoreResult<()> {
        statement!(self, |c| users::delete_token(&c, id))
    }

    // --- manual testing -------------------------------------------------

    #[tracing::instrument(skip_all, level = "debug", fields(project = %id))]
    async fn update_project(&self, id: ProjectId, patch: ProjectPatch) -> StoreResult<Project> {
        statement!(self, |c| projects::update_project(&c, id, &patch))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %id))]
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        statement!(self, |c| users::update_user(&c, id, &patch))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn delete_user_tokens(&self, user: UserId) -> StoreResult<u64> {
        statement!(self, |c| users::delete_user_tokens(&c, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_sections(&self, project: ProjectId) -> StoreResult<Vec<Section>> {
        snapshot!(self, |tx| cases::list_sections(&tx, project))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn section_case_ids(
        &self,
        project: ProjectId,
        suite: String,
    ) -> StoreResult<Vec<CaseId>> {
        snapshot!(self, |tx| cases::section_case_ids(&tx, project, &suite))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn assign_results(
        &self,
        run: RunId,
        target: AssignTarget,
        user: Option<UserId>,
    ) -> StoreResult<u64> {
        write_tx!(self, |tx| manual::assign_results(&tx, run, &target, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(user = %user))]
    async fn my_work(&self, user: UserId, page: Page) -> StoreResult<Listing<WorkItem>> {
        snapshot!(self, |tx| manual::my_work(&tx, user, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn export_rows(&self, run: RunId) -> StoreResult<Vec<ExportRow>> {
        snapshot!(self, |tx| manual::export_rows(&tx, run))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(creator = %creator))]
    async fn create_project(
        &self,
        project: NewProject,
        creator: UserId,
        now: Timestamp,
    ) -> StoreResult<Project> {
        write_tx!(self, |tx| projects::create_project(
            &tx, &project, creator, now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %id))]
    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        read!(self, |c| projects::get_project(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(page = page.page))]
    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: Page,
    ) -> StoreResult<Listing<Project>> {
        snapshot!(self, |tx| projects::list_projects(&tx, member, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        read!(self, |c| projects::role(&c, project, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> StoreResult<Member> {
        write_tx!(self, |tx| projects::set_member(&tx, project, user, role))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, user = %user))]
    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        statement!(self, |c| projects::remove_member(&c, project, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        read!(self, |c| projects::list_members(&c, project))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_case(
        &self,
        project: ProjectId,
        case: NewCase,
        now: Timestamp,
    ) -> StoreResult<Case> {
        write_tx!(self, |tx| cases::create_case(&tx, project, &case, now))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, cases = new.len()))]
    async fn upsert_cases(
        &self,
        project: ProjectId,
        new: Vec<NewCase>,
        now: Timestamp,
    ) -> StoreResult<Vec<CaseUpsert>> {
        write_tx!(self, rows = new.len(), |tx| cases::upsert_cases(
            &tx, project, &new, now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn get_case(&self, id: CaseId) -> StoreResult<Case> {
        read!(self, |c| cases::get_case(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, page = page.page))]
    async fn list_cases(
        &self,
        project: ProjectId,
        query: CaseQuery,
        page: Page,
    ) -> StoreResult<Listing<Case>> {
        snapshot!(self, |tx| cases::list_cases(&tx, project, &query, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn update_case(&self, id: CaseId, patch: CasePatch) -> StoreResult<Case> {
        write_tx!(self, |tx| cases::update_case(&tx, id, &patch))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %id))]
    async fn delete_case(&self, id: CaseId) -> StoreResult<()> {
        statement!(self, |c| cases::delete_case(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_run(
        &self,
        project: ProjectId,
        run: NewRun,
        now: Timestamp,
    ) -> StoreResult<(Run, bool)> {
        let rows = run.case_ids.as_ref().map_or(0, Vec::len);
        write_tx!(self, rows = rows, |tx| runs::create_run(
            &tx, project, &run, now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        read!(self, |c| runs::get_run(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id, user = %user))]
    async fn run_access(&self, id: RunId, user: UserId) -> StoreResult<(ProjectId, Option<Role>)> {
        read!(self, |c| projects::run_access(&c, id, user))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, page = page.page))]
    async fn list_runs(
        &self,
        project: ProjectId,
        filter: RunFilter,
        page: Page,
    ) -> StoreResult<Listing<Run>> {
        snapshot!(self, |tx| runs::list_runs(&tx, project, &filter, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn update_run(&self, id: RunId, patch: RunPatch) -> StoreResult<Run> {
        write_tx!(self, |tx| runs::update_run(&tx, id, &patch))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id, cases = cases.len()))]
    async fn add_cases_to_run(&self, id: RunId, cases: Vec<CaseId>) -> StoreResult<Run> {
        write_tx!(self, rows = cases.len(), |tx| runs::add_cases_to_run(
            &tx, id, &cases
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn numbered_sections(&self, project: ProjectId) -> StoreResult<Vec<NumberedSection>> {
        snapshot!(self, |tx| testrail::numbered_sections(&tx, project))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn number_sections(
        &self,
        project: ProjectId,
        paths: Vec<String>,
    ) -> StoreResult<Vec<NumberedSection>> {
        write_tx!(self, |tx| testrail::number_sections(&tx, project, &paths))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn numbered_section(&self, id: i64) -> StoreResult<NumberedSection> {
        snapshot!(self, |tx| testrail::numbered_section(&tx, id))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn delete_numbered_section(&self, id: i64) -> StoreResult<()> {
        write_tx!(self, |tx| testrail::delete_numbered_section(&tx, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn delete_run(&self, id: RunId) -> StoreResult<PruneOutcome> {
        write_tx!(self, |tx| retention::delete_run(&tx, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %id))]
    async fn close_run(&self, id: RunId, now: Timestamp) -> StoreResult<Run> {
        write_tx!(self, |tx| runs::close_run(&tx, id, now))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(actor = %write.actor))]
    async fn write_idempotent(&self, write: IdempotentWrite) -> StoreResult<Answer> {
        write_tx!(self, |tx| once::write_idempotent(&tx, &write))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn list_results(
        &self,
        run: RunId,
        query: ResultQuery,
    ) -> StoreResult<Listing<TestResult>> {
        snapshot!(self, |tx| results::list_results(&tx, run, &query))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn get_result(&self, run: RunId, id: ResultId) -> StoreResult<TestResult> {
        read!(self, |c| results::get_result(&c, run, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(result = %id))]
    async fn result_run(&self, id: ResultId) -> StoreResult<RunId> {
        read!(self, |c| results::result_run(&c, id))
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
        self.record_result_as(run, id, execution, actor, true, now)
            .await?
            .ok_or_else(|| StoreError::Other("an unchecked write was refused".to_string()))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn record_result_as(
        &self,
        run: RunId,
        id: ResultId,
        execution: Execution,
        actor: UserId,
        admin: bool,
        now: Timestamp,
    ) -> StoreResult<Option<TestResult>> {
        let patch = crate::patches::Patch {
            run,
            id,
            execution,
            actor,
            admin,
            now,
        };
        self.patches.record(self, patch).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %request.run, entries = request.entries.len()))]
    async fn record_bulk(&self, request: BulkRequest) -> StoreResult<BulkOutcome> {
        write_tx!(self, rows = request.entries.len(), |tx| bulk::record_bulk(
            &tx, &request
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %request.run, entries = request.entries.len()))]
    async fn import_results(&self, request: ImportRequest) -> StoreResult<ImportOutcome> {
        write_tx!(self, rows = request.entries.len(), |tx| {
            import::import_keyed(&tx, &request)
        })
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %id))]
    async fn result_history(
        &self,
        run: RunId,
        id: ResultId,
        page: Page,
    ) -> StoreResult<Listing<HistoryEntry>> {
        snapshot!(self, |tx| results::result_history(&tx, run, id, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, page = page.page))]
    async fn compare_runs(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        categories: Vec<Category>,
        page: Page,
    ) -> StoreResult<Comparison> {
        snapshot!(self, |tx| triage::compare_runs(
            &tx,
            run,
            baseline,
            &categories,
            page
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, page = page.page))]
    async fn run_failures(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        per_group: usize,
        page: Page,
    ) -> StoreResult<FailureReport> {
        snapshot!(self, |tx| triage::run_failures(
            &tx, run, baseline, per_group, page
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run))]
    async fn gate_facts(
        &self,
        run: RunId,
        baseline: BaselineChoice,
        ignore_quarantined: bool,
    ) -> StoreResult<GateFacts> {
        snapshot!(self, |tx| triage::gate_facts(
            &tx,
            run,
            baseline,
            ignore_quarantined
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, window = query.window))]
    async fn flaky_cases(
        &self,
        project: ProjectId,
        query: FlakyQuery,
        page: Page,
    ) -> StoreResult<Listing<FlakyCase>> {
        snapshot!(self, |tx| triage::flaky_cases(&tx, project, &query, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %case, page = page.page))]
    async fn case_results(
        &self,
        case: CaseId,
        branch: BranchFilter,
        page: Page,
    ) -> StoreResult<Listing<CaseRunResult>> {
        snapshot!(self, |tx| triage::case_results(&tx, case, &branch, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, window = query.window))]
    async fn durations(
        &self,
        project: ProjectId,
        query: DurationQuery,
        page: Page,
    ) -> StoreResult<Listing<CaseDurations>> {
        snapshot!(self, |tx| triage::durations(&tx, project, &query, page))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project, runs = runs))]
    async fn trends(
        &self,
        project: ProjectId,
        branch: BranchFilter,
        runs: u32,
    ) -> StoreResult<Vec<TrendRow>> {
        snapshot!(self, |tx| triage::trends(&tx, project, &branch, runs))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(case = %case))]
    async fn set_quarantine(
        &self,
        case: CaseId,
        quarantine: Option<Quarantine>,
    ) -> StoreResult<Case> {
        write_tx!(self, |tx| cases::set_quarantine(
            &tx,
            case,
            quarantine.as_ref()
        ))
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
        write_tx!(self, |tx| attachments::add_attachments(
            &tx, run, result, &files, actor, now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(run = %run, result = %result))]
    async fn list_attachments(&self, run: RunId, result: ResultId) -> StoreResult<Vec<Attachment>> {
        snapshot!(self, |tx| attachments::list_attachments(&tx, run, result))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attachment = %id))]
    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Attachment> {
        read!(self, |c| attachments::get_attachment(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attachment = %id))]
    async fn delete_attachment(&self, id: AttachmentId) -> StoreResult<()> {
        statement!(self, |c| attachments::delete_attachment(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(digests = digests.len()))]
    async fn referenced_digests(&self, digests: Vec<String>) -> StoreResult<Vec<String>> {
        read!(self, |c| attachments::referenced_digests(&c, &digests))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(dry_run = request.dry_run))]
    async fn prune(&self, request: PruneRequest) -> StoreResult<PruneOutcome> {
        if request.dry_run {
            return snapshot!(self, |tx| retention::prune(&tx, &request));
        }
        write_tx!(self, |tx| retention::prune(&tx, &request))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn reclaim(&self) -> StoreResult<()> {
        retention::reclaim(&self.pool)
            .await
            .map_err(crate::error::Error::into_store)
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn database_bytes(&self) -> StoreResult<u64> {
        read!(self, |c| retention::database_bytes(&c))
    }

    // --- webhooks ----------------------------------------------------------

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn create_webhook(
        &self,
        project: ProjectId,
        webhook: NewWebhook,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        write_tx!(self, |tx| webhooks::create_webhook(
            &tx, project, &webhook, now
        ))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Webhook> {
        read!(self, |c| webhooks::get_webhook(&c, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(project = %project))]
    async fn list_webhooks(&self, project: ProjectId) -> StoreResult<Vec<Webhook>> {
        snapshot!(self, |tx| webhooks::list_webhooks(&tx, project))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn update_webhook(&self, id: WebhookId, patch: WebhookPatch) -> StoreResult<Webhook> {
        write_tx!(self, |tx| webhooks::update_webhook(&tx, id, &patch))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        write_tx!(self, |tx| webhooks::delete_webhook(&tx, id))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn queue_ping(&self, id: WebhookId, now: Timestamp) -> StoreResult<EventId> {
        write_tx!(self, |tx| webhooks::queue_ping(&tx, id, now))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id, event = %event))]
    async fn redeliver(&self, id: WebhookId, event: EventId, now: Timestamp) -> StoreResult<()> {
        write_tx!(self, |tx| webhooks::redeliver(&tx, id, event, now))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(webhook = %id))]
    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: Page,
    ) -> StoreResult<Listing<DeliveryAttempt>> {
        snapshot!(self, |tx| webhooks::list_deliveries(&tx, id, page))
    }

    #[tracing::instrument(skip_all, level = "debug")]
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        statement!(self, |c| webhooks::claim_deliveries(&c, now, until, limit))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(events = events.len()))]
    async fn render_events(
        &self,
        events: Vec<(EventId, String)>,
    ) -> StoreResult<Vec<(EventId, String)>> {
        write_tx!(self, |tx| webhooks::render_events(&tx, &events))
    }

    #[tracing::instrument(skip_all, level = "debug", fields(attempts = outcomes.len()))]
    async fn finish_deliveries(&self, outcomes: Vec<DeliveryOutcome>) -> StoreResult<()> {
        write_tx!(self, |tx| webhooks::finish_deliveries(&tx, &outcomes))
    }
}
