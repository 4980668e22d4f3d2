# Reference values from R's mclust 6.0.0 for tests/test_parsimonious.py.
#
# Regenerate (from the repository root; R and mclust from Debian's packages
# r-base-core and r-cran-mclust):
#
#     Rscript tests/mclust/make_reference.R
#
# It writes tests/mclust/reference.json, which is committed, so the tests run without R.
# The output is deterministic: the synthetic data and the responsibilities come from
# set.seed() below, and every number is written with 17 significant digits.
#
# What is recorded, per case (data set x number of components K):
#   * the data X and a fixed responsibility matrix z: 0.75 * unmap(hclass(hc(X), K))
#     + 0.25 * a row drawn from the flat Dirichlet (soft, so every weighted sum matters);
#   * for every one of the fourteen models, mstep(X, model, z): pro, mean, sigma;
#   * for every model, me(X, model, z): pro, mean, sigma, loglik, iterations, returnCode.
# And nMclustParams(model, d, G) for a grid of (model, d, G); mstep() with mclust's default
# conjugate prior for the ten models that have one (see "The conjugate prior" below); and
# one EM path of VVE on which me() lowers the log-likelihood (see "VVE's EM path" below).
#
# Tolerances (mclust's defaults are emControl()$tol = c(1e-5, sqrt(.Machine$double.eps))):
#   * mstep: the M-step is recorded at the fixed point of mclust's iteration. VEI and VEV
#     stop on parameter changes; with tol = 0 they run until a sweep changes nothing in
#     floating point. VEE, EVE and VVE stop on the relative change of their objective,
#     which repeats to the last bit up to about 1e-7 (relative, in the covariances) before
#     the parameters stop moving; so the control list passed to mstep has tol = -1 (which
#     emControl() rejects but mstep passes through; VEI's and VEV's Fortran raise it to 0)
#     and itmax = 5000: those three run exactly 5000 sweeps.
#   * me: emControl(tol = c(1e-15, 1e-15), itmax = c(10000, 10000)): EM stops when the
#     relative change of the log-likelihood, |l_t - l_{t-1}| / (1 + |l_t|), is at most 1e-15
#     (the inner M-step iterations likewise on their own criteria, warm-started from the
#     previous EM iteration as mclust does). A log-likelihood that no longer changes still
#     allows parameters that move by about sqrt(1e-15) relative when EM converges slowly,
#     so the me() parameters are at their fixed point to about 1e-7 relative, not better.

suppressPackageStartupMessages(library(mclust))
stopifnot(packageVersion("mclust") == "6.0.0")

models <- mclust.options("emModelNames")
stopifnot(identical(models, c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE",
                              "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")))

# ----------------------------------------------------------------------------- JSON out
# A small writer: named lists are objects, unnamed lists arrays, numbers with %.17g.
number <- function(x) {
  out <- sprintf("%.17g", as.numeric(x))
  out[is.na(x)] <- "null"
  out
}
json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    inner <- vapply(x, json, "")
    if (!is.null(names(x)))
      return(paste0("{", paste0("\"", names(x), "\":", inner, collapse = ","), "}"))
    return(paste0("[", paste(inner, collapse = ","), "]"))
  }
  if (is.character(x)) {
    inner <- paste0("\"", x, "\"")
    return(if (length(x) == 1 && !inherits(x, "AsIs")) inner
           else paste0("[", paste(inner, collapse = ","), "]"))
  }
  inner <- number(x)
  if (length(x) == 1 && !inherits(x, "AsIs")) return(inner)
  paste0("[", paste(inner, collapse = ","), "]")
}
# An array as {"shape": [...], "data": [row-major entries]} (numpy's C order).
tensor <- function(a) {
  a <- as.array(a)
  list(shape = I(dim(a)), data = I(as.vector(aperm(a, rev(seq_along(dim(a)))))))
}

# ----------------------------------------------------------------------------- the data
set.seed(20240522)
rotation <- function() qr.Q(qr(matrix(rnorm(9), 3, 3)))
synthetic_component <- function(m, mean, eigenvalues) {
  R <- rotation()
  root <- R %*% diag(sqrt(eigenvalues))
  sweep(matrix(rnorm(m * 3), m, 3) %*% t(root), 2, mean, "+")
}
synthetic <- rbind(
  synthetic_component(50, c(0, 0, 0), c(4, 1, 0.25)),
  synthetic_component(50, c(6, 1, 0), c(1, 0.5, 0.5)),
  synthetic_component(50, c(1, 6, 3), c(2, 2, 0.1))
)
colnames(synthetic) <- c("x1", "x2", "x3")

datasets <- list(
  faithful = as.matrix(faithful),
  iris = as.matrix(iris[, 1:4]),
  synthetic = synthetic
)

responsibilities <- function(X, K) {
  hard <- unmap(hclass(hc(X), K))
  noise <- matrix(rgamma(nrow(X) * K, shape = 1), nrow(X), K)
  z <- 0.75 * hard + 0.25 * noise / rowSums(noise)
  z / rowSums(z)
}

# ---------------------------------------------------------------------------- the fits
mstep_control <- list(eps = .Machine$double.eps, tol = c(-1, -1), itmax = c(1L, 5000L),
                      equalPro = FALSE)
me_control <- emControl(tol = c(1e-15, 1e-15), itmax = c(10000, 10000))

parameters <- function(fit) {
  p <- fit$parameters
  sigma <- aperm(p$variance$sigma, c(3, 1, 2))  # (K, d, d)
  list(pro = I(as.vector(p$pro)), mean = tensor(t(p$mean)), sigma = tensor(sigma))
}

iterations <- function(fit) as.numeric(unlist(attr(fit, "info")))[1]

cases <- list()
for (name in names(datasets)) {
  X <- datasets[[name]]
  for (K in 2:3) {
    z <- responsibilities(X, K)
    msteps <- list()
    mes <- list()
    for (model in models) {
      ms <- suppressWarnings(mstep(X, model, z, control = mstep_control))
      stopifnot(all(is.finite(ms$parameters$variance$sigma)))
      msteps[[model]] <- parameters(ms)
      fit <- suppressWarnings(me(X, model, z, control = me_control))
      stopifnot(attr(fit, "returnCode") >= 0, is.finite(fit$loglik))
      mes[[model]] <- c(parameters(fit), list(
        loglik = fit$loglik,
        iterations = abs(iterations(fit)),
        returnCode = attr(fit, "returnCode")
      ))
    }
    cases[[length(cases) + 1]] <- list(
      name = sprintf("%s-K%d", name, K), data = name, K = K,
      X = tensor(X), z = tensor(z), mstep = msteps, me = mes
    )
  }
}

# The conjugate prior (priorControl(), Fraley & Raftery 2007): mclust has it for ten models
# (not VEE, EVE, VVE, EVV). Recorded for the iris-K3 case: defaultPrior's hyperparameters
# and mstep(X, model, z, prior = priorControl()) for each of the ten.
prior_models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV")
prior_case <- cases[[which(vapply(cases, function(case) case$name, "") == "iris-K3")]]
prior_X <- datasets$iris
prior_z <- matrix(prior_case$z$data, nrow(prior_X), 3, byrow = TRUE)
prior <- list()
for (model in prior_models) {
  hyper <- defaultPrior(prior_X, 3, model)
  ms <- suppressWarnings(mstep(prior_X, model, prior_z, prior = priorControl(),
                               control = mstep_control))
  prior[[model]] <- c(parameters(ms), list(
    shrinkage = hyper$shrinkage, prior_mean = I(as.vector(hyper$mean)), dof = hyper$dof,
    scale = tensor(as.matrix(hyper$scale))
  ))
}
prior <- list(case = "iris-K3", models = prior)

# VVE's EM path: mclust 6.0.0's VVE M-step does not maximise the VVE likelihood (its
# orientation update weights the components as EVE's does), and with it me() can lower the
# log-likelihood. Recorded: a 2-d data set, a flat-Dirichlet z, and me()'s log-likelihood
# after t = 1, ..., 30 iterations (itmax = c(t, 1000); tol = c(0, 1e-15)).
set.seed(24)
path_n <- 120
path_labels <- sample(1:3, path_n, replace = TRUE)
path_centres <- matrix(rnorm(6, sd = 3), 3, 2)
path_X <- path_centres[path_labels, ] +
  matrix(rnorm(2 * path_n), path_n, 2) * c(1, 0.3, 2)[path_labels]
path_z <- matrix(rgamma(3 * path_n, shape = 1), path_n, 3)
path_z <- path_z / rowSums(path_z)
path_loglik <- sapply(1:30, function(t) {
  fit <- suppressWarnings(me(path_X, "VVE", path_z,
                             control = emControl(tol = c(0, 1e-15), itmax = c(t, 1000))))
  fit$loglik
})
stopifnot(min(diff(path_loglik)) < -1)
vve_path <- list(X = tensor(path_X), z = tensor(path_z), loglik = I(path_loglik),
                 tol = I(c(0, 1e-15)))

grid <- list()
for (model in models) for (d in c(1, 2, 3, 4, 7, 10)) for (G in c(1, 2, 3, 5, 9)) {
  grid[[length(grid) + 1]] <- list(model = model, d = d, G = G,
                                   nVarParams = nVarParams(model, d, G),
                                   nMclustParams = nMclustParams(model, d, G))
}

reference <- list(
  mclust_version = as.character(packageVersion("mclust")),
  R_version = paste(R.version$major, R.version$minor, sep = "."),
  models = I(models),
  mstep_control = list(tol = I(mstep_control$tol), itmax = I(mstep_control$itmax)),
  me_control = list(tol = I(me_control$tol), itmax = I(me_control$itmax)),
  cases = cases,
  vve_path = vve_path,
  prior = prior,
  n_parameters = grid
)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out <- file.path(if (length(script)) dirname(script) else "tests/mclust", "reference.json")
writeLines(json(reference), out)
cat("wrote", out, "(", file.size(out), "bytes )\n")
