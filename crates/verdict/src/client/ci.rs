//! Which CI is running `verdict upload`, and what it is building: the
//! branch (for a pull or merge request, its source branch), the commit and
//! the build's page, read from the CI's own variables. A run the upload
//! creates carries them, so later runs of the branch find it as their
//! baseline; `--branch`, `--commit`, `--build-url` override each.

/// What the CI says about the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    /// The CI's name, as a new run's name starts (`GitHub Actions run 42`).
    pub provider: &'static str,
    /// The build's number or id in that CI.
    pub number: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub build_url: Option<String>,
}

/// The build the environment describes, if a known CI sets it. `var`
/// reads one variable (unset and empty are both `None`).
pub fn detect(var: &dyn Fn(&str) -> Option<String>) -> Option<Build> {
    let is = |name: &str, value: &str| var(name).is_some_and(|v| v.eq_ignore_ascii_case(value));
    if is("GITHUB_ACTIONS", "true") {
        let url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(id)) => Some(format!(
                "{}/{repo}/actions/runs/{id}",
                server.trim_end_matches('/')
            )),
            _ => None,
        };
        return Some(Build {
            provider: "GitHub Actions run",
            number: var("GITHUB_RUN_ID"),
            // A pull request's source branch; otherwise the pushed ref.
            branch: var("GITHUB_HEAD_REF")
                .or_else(|| var("GITHUB_REF_NAME"))
                .or_else(|| var("GITHUB_REF").map(|r| strip_ref(&r))),
            commit: var("GITHUB_SHA"),
            build_url: url,
        });
    }
    if is("GITLAB_CI", "true") {
        return Some(Build {
            provider: "GitLab pipeline",
            number: var("CI_PIPELINE_ID"),
            branch: var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
                .or_else(|| var("CI_COMMIT_BRANCH"))
                .or_else(|| var("CI_COMMIT_REF_NAME")),
            commit: var("CI_COMMIT_SHA"),
            build_url: var("CI_PIPELINE_URL").or_else(|| var("CI_JOB_URL")),
        });
    }
    if is("CIRCLECI", "true") {
        return Some(Build {
            provider: "CircleCI build",
            number: var("CIRCLE_BUILD_NUM"),
            branch: var("CIRCLE_BRANCH"),
            commit: var("CIRCLE_SHA1"),
            build_url: var("CIRCLE_BUILD_URL"),
        });
    }
    if is("BUILDKITE", "true") {
        return Some(Build {
            provider: "Buildkite build",
            number: var("BUILDKITE_BUILD_NUMBER"),
            // On a pull request build this is already its source branch.
            branch: var("BUILDKITE_BRANCH"),
            commit: var("BUILDKITE_COMMIT"),
            build_url: var("BUILDKITE_BUILD_URL"),
        });
    }
    if is("TF_BUILD", "true") {
        let url = match (
            var("SYSTEM_COLLECTIONURI"),
            var("SYSTEM_TEAMPROJECT"),
            var("BUILD_BUILDID"),
        ) {
            (Some(collection), Some(project), Some(id)) => Some(format!(
                "{}/{}/_build/results?buildId={id}",
                collection.trim_end_matches('/'),
                project.replace(' ', "%20")
            )),
            _ => None,
        };
        return Some(Build {
            provider: "Azure Pipelines build",
            number: var("BUILD_BUILDNUMBER").or_else(|| var("BUILD_BUILDID")),
            branch: var("SYSTEM_PULLREQUEST_SOURCEBRANCH")
                .or_else(|| var("BUILD_SOURCEBRANCH"))
                .map(|r| strip_ref(&r)),
            commit: var("SYSTEM_PULLREQUEST_SOURCECOMMITID").or_else(|| var("BUILD_SOURCEVERSION")),
            build_url: url,
        });
    }
    if var("BITBUCKET_BUILD_NUMBER").is_some() {
        let url = match (
            var("BITBUCKET_REPO_FULL_NAME"),
            var("BITBUCKET_BUILD_NUMBER"),
        ) {
            (Some(repo), Some(n)) => Some(format!(
                "https://bitbucket.org/{repo}/pipelines/results/{n}"
            )),
            _ => None,
        };
        return Some(Build {
            provider: "Bitbucket pipeline",
            number: var("BITBUCKET_BUILD_NUMBER"),
            // A pull request pipeline's BITBUCKET_BRANCH is its source branch.
            branch: var("BITBUCKET_BRANCH"),
            commit: var("BITBUCKET_COMMIT"),
            build_url: url,
        });
    }
    // Jenkins last: other CIs may run on Jenkins agents' variables.
    if var("JENKINS_URL").is_some() || var("JENKINS_HOME").is_some() {
        return Some(Build {
            provider: "Jenkins build",
            number: var("BUILD_NUMBER"),
            // A multibranch pull request's source branch, then the branch.
            branch: var("CHANGE_BRANCH")
                .or_else(|| var("BRANCH_NAME"))
                .or_else(|| var("GIT_BRANCH").map(|b| strip_remote(&b))),
            commit: var("GIT_COMMIT"),
            build_url: var("BUILD_URL"),
        });
    }
    None
}

/// `refs/heads/main` → `main`; `refs/pull/1/merge` stays as it is.
fn strip_ref(r: &str) -> String {
    r.strip_prefix("refs/heads/").unwrap_or(r).to_string()
}

/// Jenkins' `origin/main` → `main`.
fn strip_remote(b: &str) -> String {
    b.strip_prefix("origin/").unwrap_or(b).to_string()
}

/// Whether a commit the CI gave is one the server takes (4–64 hex digits).
/// A CI can say `HEAD` before checking out; that is left out.
pub fn is_commit(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}
