# Reference values for the campaign benchmarks of analysis.campaign (issue 18, item 4).
# Run from the repository root:  Rscript tests/analysis/r/campaign.R
# Writes tests/analysis/r/campaign.json: {key: {"call": "...", "value": [numbers]}}.
#
# Data: tests/analysis/data/campaign.csv (make_campaign.py): seven agencies, each a stratified
# sample of its own districts with base weights. The agencies are stacked in ONE design with
# strata = agency x district. Each agency's mean of a 0-100 index comes from svyby(covmat = TRUE)
# on the answered respondents (a domain: subset() keeps every row); the pooled and peer estimates
# and the agency's difference from them are svycontrast()s of those, with each agency weighted by
# its population share P_b = N_b / sum(N) (N_b = the sum of its weights). The difference from a
# group that contains the agency is the contrast e_a - P (its covariance with the group is in the
# contrast). Degrees of freedom: Welch-Satterthwaite on the contrast's terms c_b^2 v_b with each
# agency's own df (answered respondents minus the strata they fall in), written out below; the
# interval and p-value use them. For the index without unanswered rows the pooled estimate is
# also svymean() on the whole stacked design (the same number when weights are constant within
# strata).
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
x <- read.csv("tests/analysis/data/campaign.csv", colClasses = "character", na.strings = character(0))
num <- function(v) suppressWarnings(as.numeric(ifelse(v == "", NA, v)))
x$w <- num(x$base_weight)
x$agency <- factor(x$agency)
x$st <- paste(x$agency, x$stratum, sep = "|")
options(survey.lonely.psu = "adjust")
d0 <- svydesign(ids = ~1, strata = ~st, weights = ~w, data = x)
agencies <- levels(x$agency)
N <- tapply(x$w, x$agency, sum)[agencies]
peers <- list(a1 = c("a1", "a2", "a3", "a4"), a5 = c("a5", "a6"))

out <- list()
put <- function(key, call, value) out[[key]] <<- list(call = call, value = unname(as.numeric(value)))
satt <- function(v, df) sum(v)^2 / sum(v^2 / df)
row <- function(k, terms, dfs, with_p) {
  est <- as.numeric(coef(k)); se <- as.numeric(SE(k))
  df <- satt(terms, dfs); q <- qt(0.975, df)
  r <- c(est, se, df, est - q * se, est + q * se)
  if (with_p) r <- c(r, 2 * pt(-abs(est / se), df))
  r
}
for (item in c("trust", "trust_full")) {
  y <- num(x[[item]])
  x$y0 <- ifelse(is.na(y), 0, y)
  d <- update(d0, y0 = x$y0)
  ans <- subset(d, !is.na(y))
  b <- svyby(~y0, ~agency, ans, svymean, covmat = TRUE)
  v <- diag(vcov(b))
  dfs <- sapply(agencies, function(a) { s <- x$agency == a & !is.na(y); sum(s) - length(unique(x$st[s])) })
  put(paste0(item, "_agencies"), "svyby(~y, ~agency, subset(design, answered), svymean, covmat = TRUE): coef, SE, own df, N",
      c(coef(b), SE(b), dfs, N))
  P <- N / sum(N)
  put(paste0(item, "_pool"), "svycontrast(b, N / sum(N)): est, SE, df, 95% CI",
      row(svycontrast(b, P), P^2 * v, dfs, FALSE))
  if (item == "trust_full") {
    m <- svymean(~y0, d)
    put("trust_full_pool_svymean", "svymean(~trust_full, stacked design): est, SE", c(coef(m), SE(m)))
  }
  for (own in names(peers)) {
    e <- as.numeric(agencies == own)
    cc <- e - P
    put(paste0(item, "_", own, "_diff_pool"), "svycontrast(b, e_own - P): d, SE, df, 95% CI, p",
        row(svycontrast(b, cc), cc^2 * v, dfs, TRUE))
    inpeer <- agencies %in% peers[[own]]
    Pg <- ifelse(inpeer, N, 0) / sum(N[inpeer])
    put(paste0(item, "_", own, "_peers"), "svycontrast(b, Pg): est, SE, df, 95% CI",
        row(svycontrast(b, Pg), (Pg^2 * v)[inpeer], dfs[inpeer], FALSE))
    cg <- e - Pg
    put(paste0(item, "_", own, "_diff_peers"), "svycontrast(b, e_own - Pg): d, SE, df, 95% CI, p",
        row(svycontrast(b, cg), (cg^2 * v)[inpeer], dfs[inpeer], TRUE))
  }
}
writeLines(toJSON(out, digits = I(17), auto_unbox = FALSE, pretty = TRUE), "tests/analysis/r/campaign.json")
cat("wrote tests/analysis/r/campaign.json with", length(out), "keys\n")
