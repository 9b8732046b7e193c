# Reference values for the wave changes and trends of analysis.tables.wave_tables (issue 17).
# Run from the repository root:  Rscript tests/analysis/r/changes.R
# Writes tests/analysis/r/changes.json: {key: {"call": "...", "value": [numbers]}}.
#
# Data: tests/analysis/data/export.csv + codebook.json (three waves, three districts, open-link
# responses with weight 1 in their own stratum, population targets for age, sex and tenure).
# Each wave is raked on its own to the targets (a missing weighting variable gets the wave's most
# common category by base weight, as the platform does). All waves are stacked in ONE design with
# strata = wave x stratum and raked to wave x category margins -- the same as raking each wave on
# its own -- and the wave estimates come from a cell-means svyglm on the answered respondents (a
# domain: subset() of a calibrated design keeps every row), the changes and the trend from
# svycontrast() on them. (svyby(covmat = TRUE) stops with an error on this raked design in survey
# 4.1.1; the cell-means svyglm gives the same estimates and SEs as svyby without covmat.) The degrees of freedom of each wave estimate are the domain's own
# (answered respondents in the domain minus the strata they fall in); the df of a change or trend
# is the Welch-Satterthwaite combination, written out below.
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
dd <- "tests/analysis/data"
x <- read.csv(file.path(dd, "export.csv"), colClasses = "character", na.strings = character(0))
cb <- fromJSON(file.path(dd, "codebook.json"), simplifyVector = FALSE)
num <- function(v) { v <- suppressWarnings(as.numeric(ifelse(v == "", NA, v))); v[!is.na(v) & v < 0] <- NA; v }
x$w <- num(x$base_weight); x$w[is.na(x$w)] <- 1
x$trust_agency <- num(x$trust_agency)
x$job_rating <- num(x$job_rating)
x$job1 <- as.numeric(x$job_rating == 1)
waves <- c("2025-q1", "2025-q2", "2025-q3")
x$wave <- factor(x$wave, levels = waves)
x$st <- paste(x$wave, x$stratum, sep = "|")
targets <- list()
for (t in cb$targets) targets[[t$variable]][[t$category]] <- t$population
for (v in names(targets)) {
  for (wv in waves) {
    m <- x$wave == wv
    miss <- m & x[[v]] == ""
    if (any(miss)) {
      tot <- tapply(x$w[m & !miss], x[[v]][m & !miss], sum)
      x[[v]][miss] <- names(tot)[which.max(tot)]
    }
  }
  x[[paste0("wv_", v)]] <- paste(x$wave, x[[v]], sep = "|")
}
pops <- lapply(names(targets), function(v) {
  cats <- names(targets[[v]])
  d <- data.frame(paste(rep(waves, each = length(cats)), rep(cats, length(waves)), sep = "|"),
                  Freq = rep(unlist(targets[[v]]), length(waves)))
  names(d)[1] <- paste0("wv_", v)
  d
})
options(survey.lonely.psu = "adjust")
d0 <- svydesign(id = ~1, strata = ~st, weights = ~w, data = x)
rk <- rake(d0, lapply(names(targets), function(v) as.formula(paste0("~wv_", v))), pops,
           control = list(epsilon = 1e-12, maxit = 200))

out <- list()
put <- function(key, call, value) out[[key]] <<- list(call = call, value = unname(as.numeric(value)))
satt <- function(v, df) sum(v)^2 / sum(v^2 / df)
own_df <- function(sel) sum(sel) - length(unique(x$st[sel]))
# One change or trend from the wave estimates b and the contrast cc over coefficients idx.
contrast_row <- function(b, idx, cc, dfs) {
  full <- numeric(length(coef(b))); full[idx] <- cc
  k <- svycontrast(b, full)
  est <- coef(k); se <- SE(k)
  v <- diag(vcov(b))[idx] * cc^2
  df <- satt(v, dfs)
  q <- qt(0.975, df)
  c(est, se, df, est - q * se, est + q * se, 2 * pt(-abs(est / se), df))
}
cc_trend <- function(xs) (xs - mean(xs)) / sum((xs - mean(xs))^2)
for (item in c("trust_agency", "job1")) {
  # y0: the item with unanswered rows set to 0; they are outside the answered domain, so their
  # value never counts, but svyby(covmat = TRUE) cannot take NA.
  x$y0 <- ifelse(is.na(x[[item]]), 0, x[[item]])
  rk <- update(rk, y0 = x$y0)
  ans <- subset(rk, !is.na(x[[item]]))
  b <- svyglm(y0 ~ wave - 1, ans)
  dfs <- sapply(waves, function(wv) own_df(x$wave == wv & !is.na(x[[item]])))
  call <- sprintf("svycontrast(svyglm(%s ~ wave - 1, subset(raked stacked design, answered)), c)", item)
  put(paste0(item, "_wave_estimates"), "c(coef, SE, own df) of the waves", c(coef(b), SE(b), dfs))
  put(paste0(item, "_first_last"), call, contrast_row(b, c(1, 3), c(-1, 1), dfs[c(1, 3)]))
  put(paste0(item, "_step_1"), call, contrast_row(b, c(1, 2), c(-1, 1), dfs[c(1, 2)]))
  put(paste0(item, "_step_2"), call, contrast_row(b, c(2, 3), c(-1, 1), dfs[c(2, 3)]))
  put(paste0(item, "_trend"), call, contrast_row(b, 1:3, cc_trend(0:2), dfs))
  bd <- svyglm(y0 ~ district:wave - 1, ans)
  for (dist in c("east", "north", "south")) {
    idx <- match(paste0("district", dist, ":wave", waves), names(coef(bd)))
    ddf <- sapply(waves, function(wv) own_df(x$wave == wv & x$district == dist & !is.na(x[[item]])))
    dcall <- sprintf("svycontrast(svyglm(%s ~ district:wave - 1, subset(raked stacked design, answered)), c)", item)
    put(paste0(item, "_", dist, "_wave_estimates"), "c(coef, SE, own df) for the district", c(coef(bd)[idx], SE(bd)[idx], ddf))
    put(paste0(item, "_", dist, "_first_last"), dcall, contrast_row(bd, idx[c(1, 3)], c(-1, 1), ddf[c(1, 3)]))
    put(paste0(item, "_", dist, "_trend"), dcall, contrast_row(bd, idx, cc_trend(0:2), ddf))
  }
}
# The same trend from svyby's estimates by hand (no covmat: the waves are independent samples).
b <- svyby(~trust_agency, ~wave, rk, svymean, na.rm = TRUE)
put("trust_agency_trend_svyby", "sum(c * coef(svyby(~trust_agency, ~wave, rk, svymean, na.rm=TRUE))), sqrt(sum(c^2 SE^2))",
    c(sum(cc_trend(0:2) * coef(b)), sqrt(sum(cc_trend(0:2)^2 * SE(b)^2))))
writeLines(toJSON(out, digits = I(17), auto_unbox = FALSE, pretty = TRUE), "tests/analysis/r/changes.json")
cat("wrote", length(out), "values\n")
