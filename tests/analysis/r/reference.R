# Reference values from R's survey package for tests/analysis/test_against_r.py.
# Run from the repository root:  Rscript tests/analysis/r/reference.R
# Writes tests/analysis/r/reference.json: {key: {"call": "...", "value": number or [numbers]}}.
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
dd <- "tests/analysis/data"
rd <- function(f) {
  x <- read.csv(file.path(dd, f), colClasses = c(cds = "character"), na.strings = "NA")
  for (v in c("stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd")) if (v %in% names(x)) x[[v]] <- factor(x[[v]])
  x
}
apiclus1 <- rd("apiclus1.csv"); apistrat <- rd("apistrat.csv"); apiclus2 <- rd("apiclus2.csv")
fpcdat <- read.csv(file.path(dd, "fpc.csv"))
out <- list()
put <- function(key, call) {
  val <- tryCatch(eval(parse(text = call)), error = function(e) stop(key, ": ", conditionMessage(e)))
  if (is.list(val)) stop(key, " gave a list")
  out[[key]] <<- list(call = call, value = unname(as.numeric(val)))
}
options(survey.lonely.psu = "fail")
dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)
dclus2 <- svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)
dclus2nofpc <- svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)
rclus1 <- as.svrepdesign(dclus1)
rstrat <- as.svrepdesign(dstrat)
pop.types   <- data.frame(stype=c("E","H","M"), Freq=c(4421,755,1018))
pop.schwide <- data.frame(sch.wide=c("No","Yes"), Freq=c(1072,5122))
ctl <- list(epsilon=1e-10, maxit=30)
psclus1 <- postStratify(dclus1, ~stype, pop.types)
rkclus1 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=ctl)
psrclus1 <- postStratify(rclus1, ~stype, pop.types)
rkrclus1 <- rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=ctl)
m_se <- function(e) c(coef(e), SE(e))

# published.md rows
put("r01_mean_api00_dclus1", "m_se(svymean(~api00, dclus1))")
put("r02_total_enroll_dclus1", "m_se(svytotal(~enroll, dclus1, na.rm=TRUE))")
put("r03_mean_api00_dstrat", "m_se(svymean(~api00, dstrat))")
put("r04_total_enroll_dstrat", "m_se(svytotal(~enroll, dstrat, na.rm=TRUE))")
put("r05_mean_api00_dclus2", "m_se(svymean(~api00, dclus2))")
put("r06_total_enroll_dclus2", "m_se(svytotal(~enroll, dclus2, na.rm=TRUE))")
put("r07_mean_api00_dclus2_nofpc", "m_se(svymean(~api00, dclus2nofpc))")
put("r08_mean_api00_rclus1_mse", "{rc <- rclus1; rc$mse <- TRUE; m_se(svymean(~api00, rc))}")
put("r08_mean_api00_rclus1", "m_se(svymean(~api00, rclus1))")
put("r09_mean_api00_ps", "m_se(svymean(~api00, psclus1))")
put("r10_total_enroll_ps", "m_se(svytotal(~enroll, psclus1, na.rm=TRUE))")
put("r11_mean_api00_psrep_mse", "{rc <- psrclus1; rc$mse <- TRUE; m_se(svymean(~api00, rc))}")
put("r11_mean_api00_psrep", "m_se(svymean(~api00, psrclus1))")
put("r12_mean_api00_rake", "m_se(svymean(~api00, rkclus1))")
put("r13_total_enroll_rake", "m_se(svytotal(~enroll, rkclus1, na.rm=TRUE))")
put("r14_mean_api00_rakerep", "m_se(svymean(~api00, rkrclus1))")
put("r14_total_enroll_rakerep", "m_se(svytotal(~enroll, rkrclus1, na.rm=TRUE))")
put("r16_total_stype_dclus1", "m_se(svytotal(~stype, dclus1))")
put("r17_svyby_ell_stype_dclus1", "{b <- svyby(~ell, ~stype, dclus1, svymean); c(coef(b), SE(b))}")
dfpc0 <- svydesign(weights=~weight, ids=~psuid, strata=~stratid, nest=TRUE, data=fpcdat)
dfpc <- svydesign(weights=~weight, ids=~psuid, strata=~stratid, fpc=~Nh, nest=TRUE, data=fpcdat)
put("r19_mean_x_fpc_nofpc", "m_se(svymean(~x, dfpc0))")
put("r19_mean_x_fpc", "m_se(svymean(~x, dfpc))")
put("r20_svyby_x_gt4_dfpc", "{b <- svyby(~x, ~I(x>4), dfpc, svymean); c(coef(b), SE(b))}")
put("r20_svyby_x_gt4_dfpc_nofpc", "{b <- svyby(~x, ~I(x>4), dfpc0, svymean); c(coef(b), SE(b))}")
for (opt in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = opt)
  put(paste0("r21_lonely_", opt), "m_se(svymean(~api00, svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1)))")
}
options(survey.lonely.psu = "fail")

put("r15_mean_api00_calibrate", "m_se(svymean(~api00, calibrate(dclus1, ~api99, c(6194, 3914069))))")
put("r15_weights_calibrate", "weights(calibrate(dclus1, ~api99, c(6194, 3914069)))")
put("r15_total_enroll_calibrate_stype", "m_se(svytotal(~enroll, calibrate(dclus1, ~stype, c(6194, 755, 1018)), na.rm=TRUE))")
put("r18_svyglm_ell_meals_dclus1", "{g <- svyglm(api00 ~ ell + meals, dclus1); c(coef(g), SE(g))}")
put("r18_svyglm_ell_meals_dstrat", "{g <- svyglm(api00 ~ ell + meals, dstrat); c(coef(g), SE(g))}")

# weights themselves
put("w_rake_dclus1", "weights(rkclus1)")
put("w_ps_dclus1", "weights(psclus1)")
put("w_rake_apistrat_3margins", "weights(rake(dstrat, list(~stype, ~sch.wide, ~awards), list(pop.types, pop.schwide, data.frame(awards=c('No','Yes'), Freq=c(2000, 4194))), control=ctl))")
put("w_trim_dstrat_upper40", "weights(trimWeights(dstrat, upper=40))")
put("w_trim_rake_upper", "weights(trimWeights(rkclus1, upper=36, lower=30))")
put("w_trim_rake_upper_strict", "weights(trimWeights(rkclus1, upper=36, lower=30, strict=TRUE))")

# proportions and intervals
put("p_logit_both_dclus1", "{p <- svyciprop(~I(both=='Yes'), dclus1, method='logit'); c(coef(p), SE(p), attr(p,'ci'))}")
put("p_beta_both_dclus1", "{p <- svyciprop(~I(both=='Yes'), dclus1, method='beta'); c(coef(p), SE(p), attr(p,'ci'))}")
put("p_logit_awards_dstrat", "{p <- svyciprop(~I(awards=='Yes'), dstrat, method='logit'); c(coef(p), SE(p), attr(p,'ci'))}")
put("p_beta_awards_dstrat", "{p <- svyciprop(~I(awards=='Yes'), dstrat, method='beta'); c(coef(p), SE(p), attr(p,'ci'))}")
put("p_logit_yrrnd_dclus1_90", "{p <- svyciprop(~I(yr.rnd=='Yes'), dclus1, method='logit', level=0.9); c(coef(p), SE(p), attr(p,'ci'))}")
put("p_mean_stype_dclus1", "m_se(svymean(~stype, dclus1))")
put("p_svyby_schwide_stype_dstrat", "{b <- svyby(~sch.wide, ~stype, dstrat, svymean); c(coef(b), as.matrix(SE(b)))}")

# design effects and degrees of freedom
put("deff_mean_api00_dclus1", "deff(svymean(~api00, dclus1, deff=TRUE))")
put("deff_mean_api00_dstrat", "deff(svymean(~api00, dstrat, deff=TRUE))")
put("deff_total_enroll_dclus1", "deff(svytotal(~enroll, dclus1, deff=TRUE, na.rm=TRUE))")
put("deff_mean_api00_dclus2", "deff(svymean(~api00, dclus2, deff=TRUE))")
put("deff_svyby_api00_stype_dclus1", "deff(svyby(~api00, ~stype, dclus1, svymean, deff=TRUE))")
put("degf", "c(degf(dclus1), degf(dstrat), degf(dclus2), degf(rclus1), degf(rstrat))")
put("confint_mean_api00_dclus1_df", "confint(svymean(~api00, dclus1), df=degf(dclus1))")

# domains, replicate variants, differences
put("dom_svyby_api00_stype_dstrat", "{b <- svyby(~api00, ~stype, dstrat, svymean); c(coef(b), SE(b))}")
put("dom_svyby_api00_stype_dclus2", "{b <- svyby(~api00, ~stype, dclus2, svymean); c(coef(b), SE(b))}")
put("dom_svyby_api00_stype_rake", "{b <- svyby(~api00, ~stype, rkclus1, svymean); c(coef(b), SE(b))}")
put("dom_svyby_enroll_stype_ps_total", "{b <- svyby(~enroll, ~stype, psclus1, svytotal, na.rm=TRUE); c(coef(b), SE(b))}")
put("dom_svyby_api00_stype_rclus1", "{b <- svyby(~api00, ~stype, rclus1, svymean); c(coef(b), SE(b))}")
put("jkn_mean_api00_dstrat", "m_se(svymean(~api00, rstrat))")
put("diff_api00_H_minus_E_dclus1", "{b <- svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE); c(m_se(svycontrast(b, c(-1, 1, 0))))}")
put("diff_api00_yes_minus_no_schwide_dstrat", "{b <- svyby(~api00, ~sch.wide, dstrat, svymean, covmat=TRUE); c(m_se(svycontrast(b, c(-1, 1))))}")
put("diff_api00_H_minus_E_dclus1_glm", "{g <- svyglm(api00 ~ stype, dclus1); c(coef(g)[2], SE(g)[2])}")
put("diff_api00_H_minus_E_rake_glm", "{g <- svyglm(api00 ~ stype, rkclus1); c(coef(g)[2], SE(g)[2])}")

# Cronbach's alpha by hand on complete cases of three apistrat columns
put("alpha_apistrat", "{x <- na.omit(data.frame(a=apistrat$api00, b=apistrat$api99, c=1000-10*apistrat$meals)); k <- ncol(x); k/(k-1)*(1 - sum(apply(x, 2, var))/var(rowSums(x)))}")

writeLines(toJSON(out, digits = I(17), auto_unbox = FALSE, pretty = TRUE), "tests/analysis/r/reference.json")
cat("wrote", length(out), "values\n")
