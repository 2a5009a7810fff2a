# report.awk — turns the RUN lines of tests/bench/run.sh into the tables and RESULT lines
#
# Input: lines "RUN name=KEY ok=0|1 … mib_s=… cpu_s_per_gib=… cpu_pct=… peak_rss_kib=…"
# (anything else is ignored). KEY is relay/C, conc/N/C or size/S/C, where C is a
# contestant: socat, ejabberd, prosody or a proxy-test-server pair.
# Variables (-v): mode ("table" prints the markdown tables, "results" the RESULT
# lines), relay_label, conc_label, conc_levels ("1 8 32 128"), size_labels
# ("64M 1G 4G"), runs, socat_buffer, e2e_label, e2e_note (the whole end-to-end
# figure skipped), e2e_ej_note (its ejabberd baseline skipped, and why),
# figures (the figures measured, of "relay conc sizes e2e"; all when unset):
# only their tables, RESULT lines and targets are printed.
# End-to-end keys are e2e/COMBO: plugin-plugin, plugin-plain, plain-plugin and
# plain-plain through proxy-test-server, plain-plain-ejabberd through
# ejabberd's mod_proxy65; their ratio_vs_ejabberd is against the last.
#
# SPDX-License-Identifier: GPL-2.0-or-later

function field(line, key,    n, i, parts, kv) {
  n = split(line, parts, " ")
  for (i = 1; i <= n; i++) {
    split(parts[i], kv, "=")
    if (kv[1] == key)
      return substr(parts[i], length(key) + 2)
  }
  return ""
}

# Median of the space-separated numbers in s ("" if none).
function median(s,    n, v, i, j, t) {
  n = split(s, v, " ")
  if (n == 0)
    return ""
  for (i = 2; i <= n; i++) {
    t = v[i] + 0
    for (j = i - 1; j >= 1 && v[j] + 0 > t; j--)
      v[j + 1] = v[j]
    v[j + 1] = t
  }
  if (n % 2)
    return v[(n + 1) / 2] + 0
  return (v[n / 2] + v[n / 2 + 1]) / 2
}

function has(key) { return (key in seen) && !(key in failed) }
function mib(key) { return has(key) ? median(mibs[key]) : "" }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
function fmt(x, f) { return x == "" ? "–" : sprintf(f, x) }
function rss_mib(key) { return (has(key) && rss[key] >= 0) ? rss[key] / 1024 : "" }

function pair_label(c) {
  if (c == "socks5-socks5") return "proxy-test-server SOCKS5 → SOCKS5"
  if (c == "http-socks5") return "proxy-test-server HTTP → SOCKS5"
  if (c == "socks5-http") return "proxy-test-server SOCKS5 → HTTP"
  if (c == "http-http") return "proxy-test-server HTTP → HTTP"
  if (c == "socat") return "socat TCP relay (-b " socat_buffer ")"
  if (c == "ejabberd") return "ejabberd 23.01 mod_proxy65, SOCKS5 → SOCKS5"
  if (c == "prosody") return "Prosody 0.12 mod_proxy65, SOCKS5 → SOCKS5"
  return c
}

function status(key) {
  if (key in failed) return "FAILED"
  if (!(key in seen)) return "not run"
  return ""
}

function check(ok) { return ok ? "holds" : "MISSED" }

function on(figure) { return figures == "" || index(" " figures " ", " " figure " ") > 0 }

function combo_label(c) {
  if (c == "plugin-plugin") return "plugin → plugin"
  if (c == "plugin-plain") return "plugin → plain libpurple (behind NAT)"
  if (c == "plain-plugin") return "plain libpurple → plugin"
  if (c == "plain-plain") return "plain libpurple → plain libpurple (behind NAT)"
  if (c == "plain-plain-ejabberd") return "plain libpurple → plain libpurple (behind NAT) through ejabberd 23.01 mod_proxy65"
  return c
}

# "HTTP-SOCKS5" → "http-socks5", the relay figure's name for that path.
function route_pair(r) { return tolower(r) }

function result(name, key, m, rs, re, rp, cpu,    s) {
  if (!(key in seen))
    return
  if (key in failed) {
    printf "RESULT {\"name\": \"%s\", \"error\": \"a transfer failed or did not verify\"}\n", name
    return
  }
  s = sprintf("RESULT {\"name\": \"%s\", \"mib_s\": %.1f", name, m)
  if (rs != "") s = s sprintf(", \"ratio_vs_socat\": %.3f", rs)
  if (re != "") s = s sprintf(", \"ratio_vs_ejabberd\": %.3f", re)
  if (rp != "") s = s sprintf(", \"ratio_vs_prosody\": %.3f", rp)
  if (cpu != "") s = s sprintf(", \"cpu_s_per_gib\": %.3f", cpu)
  if (rss[key] >= 0) s = s sprintf(", \"peak_rss_kib\": %d", rss[key])
  print s "}"
}

$1 == "RUN" {
  key = field($0, "name")
  seen[key] = 1
  if (!(key in rss))
    rss[key] = -1
  if (field($0, "route") != "")
    route[key] = field($0, "route")
  if (field($0, "ok") != "1") {
    failed[key] = 1
    next
  }
  mibs[key] = mibs[key] " " field($0, "mib_s")
  cpus[key] = cpus[key] " " field($0, "cpu_s_per_gib")
  pcts[key] = pcts[key] " " field($0, "cpu_pct")
  r = field($0, "peak_rss_kib") + 0
  if (r > rss[key])
    rss[key] = r
  if (field($0, "route") != "")
    route[key] = field($0, "route")
}

END {
  npairs = split("socks5-socks5 http-socks5 socks5-http http-http", pairs, " ")
  nlevels = split(conc_levels, levels, " ")
  nsizes = split(size_labels, sizes, " ")
  socat = mib("relay/socat")
  ej = mib("relay/ejabberd")
  pr = mib("relay/prosody")

  if (mode == "results") {
    for (i = 1; i <= npairs && on("relay"); i++) {
      k = "relay/" pairs[i]
      result("relay/" pairs[i], k, mib(k), ratio(mib(k), socat), ratio(mib(k), ej), ratio(mib(k), pr), "")
    }
    if (on("relay")) {
      result("relay/socat", "relay/socat", socat, "", ratio(socat, ej), ratio(socat, pr), "")
      result("relay/ejabberd", "relay/ejabberd", ej, ratio(ej, socat), "", ratio(ej, pr), "")
      result("relay/prosody", "relay/prosody", pr, ratio(pr, socat), ratio(pr, ej), "", "")
    }
    for (l = 1; l <= nlevels && on("conc"); l++) {
      n = levels[l]
      e = mib("conc/" n "/ejabberd")
      p = mib("conc/" n "/prosody")
      for (i = 1; i <= npairs; i++) {
        k = "conc/" n "/" pairs[i]
        result("concurrency/" n "/" pairs[i], k, mib(k), "", ratio(mib(k), e), ratio(mib(k), p), median(cpus[k]))
      }
      result("concurrency/" n "/ejabberd", "conc/" n "/ejabberd", e, "", "", ratio(e, p), median(cpus["conc/" n "/ejabberd"]))
      result("concurrency/" n "/prosody", "conc/" n "/prosody", p, "", ratio(p, e), "", median(cpus["conc/" n "/prosody"]))
    }
    for (s = 1; s <= nsizes && on("sizes"); s++)
      for (i = 1; i <= npairs; i++) {
        k = "size/" sizes[s] "/" pairs[i]
        result("rss-vs-size/" sizes[s] "/" pairs[i], k, mib(k), "", "", "", "")
      }
    # End to end, ratio_vs_ejabberd is against plain libpurple through
    # ejabberd's proxy in the same figure (socat and Prosody: their relays).
    e2e_ej = mib("e2e/plain-plain-ejabberd")
    ncombos = split("plugin-plugin plugin-plain plain-plugin plain-plain", combos, " ")
    if (!on("e2e"))
      exit
    for (i = 1; i <= ncombos; i++) {
      k = "e2e/" combos[i]
      m = mib(k)
      result("end-to-end/" combos[i], k, m, ratio(m, socat), ratio(m, e2e_ej), ratio(m, pr), "")
    }
    k = "e2e/plain-plain-ejabberd"
    result("end-to-end/plain-plain-ejabberd", k, e2e_ej, "", "", "", median(cpus[k]))
    exit
  }

  if (on("relay")) {
    printf "### Relay: one transfer of %s, median of %d run(s)\n\n", relay_label, runs
    print "| path (sender → receiver) | MiB/s | vs socat | vs ejabberd | vs Prosody | server CPU | peak RSS |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    nall = split("socks5-socks5 http-socks5 socks5-http http-http socat ejabberd prosody", all, " ")
    for (i = 1; i <= nall; i++) {
      k = "relay/" all[i]
      m = mib(k)
      if (status(k) != "") {
        printf "| %s | %s | | | | | |\n", pair_label(all[i]), status(k)
        continue
      }
      printf "| %s | %.0f | %s | %s | %s | %s | %s |\n", pair_label(all[i]), m,
        all[i] == "socat" ? "1" : fmt(ratio(m, socat), "%.2f"),
        all[i] == "ejabberd" ? "1" : fmt(ratio(m, ej), "%.2f"),
        all[i] == "prosody" ? "1" : fmt(ratio(m, pr), "%.1f"),
        fmt(median(pcts[k]), "%.0f %%"), fmt(rss_mib(k), "%.1f MiB")
    }
  }

  if (on("conc")) {
    printf "\n### Concurrency: N simultaneous transfers of %s each, aggregate, median of %d run(s)\n\n", conc_label, runs
    print "| path | N | MiB/s | vs ejabberd | vs Prosody | server CPU s/GiB | peak RSS |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    ncon = split("socks5-socks5 http-socks5 socks5-http http-http ejabberd prosody", con, " ")
    for (i = 1; i <= ncon; i++)
      for (l = 1; l <= nlevels; l++) {
        n = levels[l]
        k = "conc/" n "/" con[i]
        e = mib("conc/" n "/ejabberd")
        p = mib("conc/" n "/prosody")
        if (status(k) != "") {
          printf "| %s | %d | %s | | | | |\n", pair_label(con[i]), n, status(k)
          continue
        }
        m = mib(k)
        printf "| %s | %d | %.0f | %s | %s | %s | %s |\n", pair_label(con[i]), n, m,
          con[i] == "ejabberd" ? "1" : fmt(ratio(m, e), "%.2f"),
          con[i] == "prosody" ? "1" : fmt(ratio(m, p), "%.1f"),
          fmt(median(cpus[k]), "%.2f"), fmt(rss_mib(k), "%.1f MiB")
      }
  }

  if (on("sizes")) {
    printf "\n### Peak RSS against file size: one transfer each, a fresh proxy-test-server per pair\n\n"
    head = "| path |"
    rule = "|---|"
    for (s = 1; s <= nsizes; s++) {
      head = head " " sizes[s] " |"
      rule = rule "---:|"
    }
    print head " growth |"
    print rule "---:|"
    for (i = 1; i <= npairs; i++) {
      line = "| " pair_label(pairs[i]) " |"
      first = ""
      last = ""
      for (s = 1; s <= nsizes; s++) {
        k = "size/" sizes[s] "/" pairs[i]
        v = rss_mib(k)
        line = line " " (status(k) != "" ? status(k) : fmt(v, "%.1f MiB")) " |"
        if (s == 1) first = v
        if (s == nsizes) last = v
      }
      print line " " ((first != "" && last != "") ? sprintf("%+.1f MiB", last - first) : "–") " |"
    }
  }

  if (on("e2e")) {
    printf "\n### End to end: libpurple to libpurple through proxy-test-server, and plain libpurple through ejabberd's mod_proxy65, %s, alternating, median of %d run(s)\n\n", e2e_label, runs
    e2e_ej = mib("e2e/plain-plain-ejabberd")
    if (e2e_note != "")
      print e2e_note
    else {
      print "| alice → bob | proxy path | MiB/s | vs bsb-bench on that path | vs plain libpurple through ejabberd | server CPU | peak RSS |"
      print "|---|---|---:|---:|---:|---:|---:|"
      ncombos = split("plugin-plugin plugin-plain plain-plugin plain-plain plain-plain-ejabberd", combos, " ")
      for (i = 1; i <= ncombos; i++) {
        k = "e2e/" combos[i]
        ejrow = combos[i] == "plain-plain-ejabberd"
        r = (k in route) ? route[k] : (ejrow ? "SOCKS5-SOCKS5" : "?")
        # The relay figure for that path, and its own server.
        bk = ejrow ? "relay/ejabberd" : "relay/" route_pair(r)
        gsub("-", " → ", r)
        if (ejrow && !(k in seen) && e2e_ej_note != "") {
          printf "| %s | %s | skipped | | | | |\n", combo_label(combos[i]), r
          continue
        }
        if (status(k) != "") {
          printf "| %s | %s | %s | | | | |\n", combo_label(combos[i]), r, status(k)
          continue
        }
        m = mib(k)
        printf "| %s | %s | %.0f | %s | %s | %s | %s |\n", combo_label(combos[i]), r, m,
          fmt(ratio(m, mib(bk)), "%.2f"),
          ejrow ? "1" : fmt(ratio(m, e2e_ej), "%.2f"),
          fmt(median(pcts[k]), "%.0f %%"), fmt(rss_mib(k), "%.1f MiB")
      }
      print "\nServer CPU and peak RSS: proxy-test-server's, or for the last row the whole ejabberd node's (c2s and mod_proxy65)."
      if (e2e_ej_note != "")
        print "\n" e2e_ej_note
    }
  }

  # The targets of the issue, each with its evidence, for the figures measured.
  print "\n### Targets\n"
  print "| target | result | evidence |"
  print "|---|---|---|"
  if (on("relay"))
    targets_relay()
  if (on("conc"))
    targets_conc()
  if (on("sizes"))
    targets_sizes()
  if (on("e2e"))
    targets_e2e()
}

function targets_relay() {
  s5 = mib("relay/socks5-socks5")
  if (s5 != "" && ej != "")
    printf "| SOCKS5 → SOCKS5 ahead of ejabberd's mod_proxy65 | %s | %.0f vs %.0f MiB/s (%.2f×) |\n", check(s5 > ej), s5, ej, s5 / ej
  else
    print "| SOCKS5 → SOCKS5 ahead of ejabberd's mod_proxy65 | not measured | |"
  if (s5 != "" && socat != "")
    printf "| SOCKS5 → SOCKS5 ≥ 70 %% of socat | %s | %.0f %% of %.0f MiB/s |\n", check(s5 >= 0.7 * socat), 100 * s5 / socat, socat
  else
    print "| SOCKS5 → SOCKS5 ≥ 70 % of socat | not measured | |"
  ok = 1
  ev = ""
  for (i = 2; i <= npairs; i++) {
    m = mib("relay/" pairs[i])
    if (m == "" || socat == "") { ok = 0; ev = ev pairs[i] " not measured; "; continue }
    if (m < 0.4 * socat) ok = 0
    ev = ev sprintf("%s %.0f %%; ", pairs[i], 100 * m / socat)
  }
  printf "| HTTP paths ≥ 40 %% of socat | %s | %s |\n", check(ok), ev
  ok = 1
  ev = ""
  for (i = 1; i <= npairs; i++) {
    m = mib("relay/" pairs[i])
    if (m == "" || pr == "") { ok = 0; ev = ev pairs[i] " not measured; "; continue }
    if (m < 5 * pr) ok = 0
    ev = ev sprintf("%s %.1f×; ", pairs[i], m / pr)
  }
  printf "| every pair ≥ 5× Prosody's single stream | %s | %s |\n", check(ok), ev
}

function targets_conc() {
  ok = 1
  ev = ""
  top = levels[nlevels]
  for (i = 1; i <= npairs; i++) {
    k = "conc/" top "/" pairs[i]
    v = rss_mib(k)
    if (v == "") { ok = 0; ev = ev pairs[i] " " (status(k) != "" ? status(k) : "unknown") "; "; continue }
    if (v > 64) ok = 0
    ev = ev sprintf("%s %.1f MiB; ", pairs[i], v)
  }
  printf "| peak RSS with %d concurrent ≤ 64 MiB | %s | %s |\n", top, check(ok), ev
}

function targets_sizes() {
  ok = 1
  ev = ""
  for (i = 1; i <= npairs; i++) {
    a = rss_mib("size/" sizes[1] "/" pairs[i])
    b = rss_mib("size/" sizes[nsizes] "/" pairs[i])
    if (a == "" || b == "") { ok = 0; ev = ev pairs[i] " not measured; "; continue }
    # Growth beyond 2 MiB from the smallest to the largest file counts.
    if (b - a > 2) ok = 0
    ev = ev sprintf("%s %+.1f MiB; ", pairs[i], b - a)
  }
  printf "| RSS not growing with file size (%s → %s) | %s | %s |\n", sizes[1], sizes[nsizes], check(ok), ev
}

function targets_e2e() {
  t = "end to end plugin↔plugin ≥ 1.5× plain libpurple through ejabberd"
  pp = mib("e2e/plugin-plugin")
  pp_route = ("e2e/plugin-plugin" in route) ? route["e2e/plugin-plugin"] : "?"
  gsub("-", " → ", pp_route)
  if (pp != "" && e2e_ej != "")
    printf "| %s | %s | %s: %.0f vs %.0f MiB/s (%.2f×), plugin → plugin over %s |\n", t,
      check(pp >= 1.5 * e2e_ej), e2e_label, pp, e2e_ej, pp / e2e_ej,
      pp_route
  else {
    ev = ""
    if (e2e_note != "") ev = e2e_note
    else {
      if (pp == "") ev = "plugin → plugin " (status("e2e/plugin-plugin") != "" ? status("e2e/plugin-plugin") : "unknown") "; "
      if (e2e_ej == "") ev = ev (e2e_ej_note != "" ? e2e_ej_note : "plain libpurple through ejabberd " (status("e2e/plain-plain-ejabberd") != "" ? status("e2e/plain-plain-ejabberd") : "unknown"))
    }
    printf "| %s | not measured | %s |\n", t, ev
  }
  # Against libpurple alone through the same proxy: the plugin must cost nothing.
  pl = mib("e2e/plain-plain")
  ok = pl != ""
  ev = ""
  ncombos = split("plugin-plugin plugin-plain plain-plugin", combos, " ")
  for (i = 1; i <= ncombos; i++) {
    m = mib("e2e/" combos[i])
    if (m == "" || pl == "") { ok = 0; ev = ev combos[i] " not measured; "; continue }
    if (m < pl) ok = 0
    ev = ev sprintf("%s %.0f (%.2f×); ", combos[i], m, m / pl)
  }
  printf "| end to end, every row with the plugin ≥ plain → plain through proxy-test-server (%s MiB/s) | %s | %s |\n",
    fmt(pl, "%.0f"), check(ok), ev
}
