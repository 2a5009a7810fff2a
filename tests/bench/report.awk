# report.awk — turns the RUN lines of tests/bench/run.sh into the tables and RESULT lines
#
# Input: lines "RUN name=KEY ok=0|1 … mib_s=… cpu_s_per_gib=… cpu_pct=… peak_rss_kib=…"
# (anything else is ignored). KEY is relay/C, conc/N/C or size/S/C, where C is a
# contestant: socat, ejabberd, prosody or a proxy-test-server pair.
# Variables (-v): mode ("table" prints the markdown tables, "results" the RESULT
# lines), relay_label, conc_label, conc_levels ("1 8 32 128"), size_labels
# ("64M 1G 4G"), runs, socat_buffer, e2e_label, e2e_note (the whole end-to-end
# figure skipped), e2e_ej_note (its ejabberd baseline skipped, and why),
# figures (the figures measured, of "relay conc sizes e2e upload"; all when
# unset): only their tables, RESULT lines and targets are printed;
# relay_threads (the relay's worker threads in every instance but the -t1
# ones), threads_note, https_note (the relay's HTTPS row skipped),
# e2e_https_note, upload_label, upload_stock_label, upload_note, any_failed
# (1 when any transfer failed or did not verify).
# Relay contestants also include https-https (HTTP → HTTP over TLS); at the
# top concurrency, PAIR-t1 is the same binary with one relay thread.
# End-to-end keys are e2e/COMBO: plain-plain (the reference), plugin-plugin,
# plugin-plain, plain-plugin, plugin-plugin-https, plain-plain-direct and
# plugin-plugin-direct through proxy-test-server, plain-plain-ejabberd
# through ejabberd's mod_proxy65; their RUN lines add the drivers' figures
# (snd_/rcv_cpu_s_per_gib, snd_/rcv_rss_kib). XEP-0363 keys: upload/tuned,
# upload/stock (Prosody's CPU and RSS).
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
function max_mib(arr, key) { return (has(key) && (key in arr) && arr[key] >= 0) ? arr[key] / 1024 : "" }
function cpu_of(arr, key,    m) { m = has(key) ? median(arr[key]) : ""; return (m != "" && m >= 0) ? m : "" }

function pair_label(c) {
  if (c == "socks5-socks5") return "proxy-test-server SOCKS5 → SOCKS5"
  if (c == "http-socks5") return "proxy-test-server HTTP → SOCKS5"
  if (c == "socks5-http") return "proxy-test-server SOCKS5 → HTTP"
  if (c == "http-http") return "proxy-test-server HTTP → HTTP"
  if (c == "https-https") return "proxy-test-server HTTPS → HTTPS (TLS; XMPP through ejabberd, as its component)"
  if (c ~ /-t1$/) return pair_label(substr(c, 1, length(c) - 3)) ", one relay thread"
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
  if (c == "plugin-plugin-https") return "plugin → plugin, HTTPS (generated CA)"
  if (c == "plain-plain-direct") return "plain libpurple → plain libpurple, direct reachable"
  if (c == "plugin-plugin-direct") return "plugin → plugin, direct reachable"
  if (c == "plugin-plain") return "plugin → plain libpurple (behind NAT)"
  if (c == "plain-plugin") return "plain libpurple → plugin"
  if (c == "plain-plain") return "plain libpurple → plain libpurple (behind NAT)"
  if (c == "plain-plain-ejabberd") return "plain libpurple → plain libpurple (behind NAT) through ejabberd 23.01 mod_proxy65"
  return c
}

# "HTTP-SOCKS5" → "http-socks5", the relay figure's name for that path.
function route_pair(r) { return tolower(r) }

function result(name, key, m, rs, re, rp, cpu, extra,    s) {
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
  print s extra "}"
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
  if (field($0, "snd_rss_kib") != "") {
    scpu[key] = scpu[key] " " field($0, "snd_cpu_s_per_gib")
    rcpu[key] = rcpu[key] " " field($0, "rcv_cpu_s_per_gib")
    if (!(key in srss) || field($0, "snd_rss_kib") + 0 > srss[key]) srss[key] = field($0, "snd_rss_kib") + 0
    if (!(key in rrss) || field($0, "rcv_rss_kib") + 0 > rrss[key]) rrss[key] = field($0, "rcv_rss_kib") + 0
  }
  secs[key] = secs[key] " " field($0, "seconds")
  if (field($0, "route") != "")
    route[key] = field($0, "route")
}

END {
  npairs = split("socks5-socks5 http-socks5 socks5-http http-http", pairs, " ")
  nlevels = split(conc_levels, levels, " ")
  nsizes = split(size_labels, sizes, " ")
  ncombos = split("plain-plain plugin-plugin plugin-plain plain-plugin plugin-plugin-https plain-plain-direct plugin-plugin-direct plain-plain-ejabberd", combos, " ")
  top = levels[nlevels]
  socat = mib("relay/socat")
  ej = mib("relay/ejabberd")
  pr = mib("relay/prosody")
  e2e_ref = mib("e2e/plain-plain")
  e2e_ej = mib("e2e/plain-plain-ejabberd")
  pp = mib("e2e/plugin-plugin")
  up_tuned = mib("upload/tuned")

  if (mode == "results") {
    if (on("relay")) {
      for (i = 1; i <= npairs; i++) {
        k = "relay/" pairs[i]
        result(k, k, mib(k), ratio(mib(k), socat), ratio(mib(k), ej), ratio(mib(k), pr), "", "")
      }
      k = "relay/https-https"
      result(k, k, mib(k), ratio(mib(k), socat), ratio(mib(k), ej), ratio(mib(k), pr), "",
        has(k) && mib("relay/http-http") != "" ? sprintf(", \"ratio_vs_http_http\": %.3f", mib(k) / mib("relay/http-http")) : "")
      result("relay/socat", "relay/socat", socat, "", ratio(socat, ej), ratio(socat, pr), "", "")
      result("relay/ejabberd", "relay/ejabberd", ej, ratio(ej, socat), "", ratio(ej, pr), "", "")
      result("relay/prosody", "relay/prosody", pr, ratio(pr, socat), ratio(pr, ej), "", "", "")
    }
    for (l = 1; l <= nlevels && on("conc"); l++) {
      n = levels[l]
      e = mib("conc/" n "/ejabberd")
      p = mib("conc/" n "/prosody")
      for (i = 1; i <= npairs; i++) {
        k = "conc/" n "/" pairs[i]
        result("concurrency/" n "/" pairs[i], k, mib(k), "", ratio(mib(k), e), ratio(mib(k), p), median(cpus[k]),
          sprintf(", \"relay_threads\": %d", relay_threads))
        k = k "-t1"
        result("concurrency/" n "/" pairs[i] "-t1", k, mib(k), "", ratio(mib(k), e), ratio(mib(k), p), median(cpus[k]),
          ", \"relay_threads\": 1")
      }
      k = "conc/" n "/socat"
      result("concurrency/" n "/socat", k, mib(k), "", ratio(mib(k), e), ratio(mib(k), p), median(cpus[k]), "")
      result("concurrency/" n "/ejabberd", "conc/" n "/ejabberd", e, "", "", ratio(e, p), median(cpus["conc/" n "/ejabberd"]), "")
      result("concurrency/" n "/prosody", "conc/" n "/prosody", p, "", ratio(p, e), "", median(cpus["conc/" n "/prosody"]), "")
    }
    for (s = 1; s <= nsizes && on("sizes"); s++)
      for (i = 1; i <= npairs; i++) {
        k = "size/" sizes[s] "/" pairs[i]
        result("rss-vs-size/" sizes[s] "/" pairs[i], k, mib(k), "", "", "", "", "")
      }
    # End to end: ratio_vs_plain is against plain → plain through the same
    # proxy, ratio_vs_ejabberd against plain → plain through ejabberd's.
    for (i = 1; i <= ncombos && on("e2e"); i++) {
      k = "e2e/" combos[i]
      m = mib(k)
      x = ""
      if (has(k) && e2e_ref != "") x = x sprintf(", \"ratio_vs_plain\": %.3f", m / e2e_ref)
      if (has(k) && (k in srss)) x = x sprintf(", \"sender_cpu_s_per_gib\": %.3f, \"sender_peak_rss_kib\": %d, \"receiver_cpu_s_per_gib\": %.3f, \"receiver_peak_rss_kib\": %d",
        median(scpu[k]), srss[k], median(rcpu[k]), rrss[k])
      result("end-to-end/" combos[i], k, m, "", combos[i] == "plain-plain-ejabberd" ? "" : ratio(m, e2e_ej), "", median(cpus[k]), x)
    }
    for (i = 1; i <= 2 && on("upload"); i++) {
      k = i == 1 ? "upload/tuned" : "upload/stock"
      result("xep0363/" substr(k, 8), k, mib(k), "", "", "", median(cpus[k]),
        has(k) ? sprintf(", \"seconds\": %.2f%s", median(secs[k]), pp != "" ? sprintf(", \"plugin_plugin_ratio\": %.2f", pp / mib(k)) : "") : "")
    }
    exit
  }

  if (on("relay")) {
    printf "### Relay: one transfer of %s, median of %d run(s)\n\n", relay_label, runs
    print "| path (sender → receiver) | MiB/s | vs socat | vs ejabberd | vs Prosody | server CPU | peak RSS |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    nall = split("socks5-socks5 http-socks5 socks5-http http-http https-https socat ejabberd prosody", all, " ")
    for (i = 1; i <= nall; i++) {
      k = "relay/" all[i]
      m = mib(k)
      if (all[i] == "https-https" && !(k in seen))
        continue
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
    if (has("relay/https-https") && mib("relay/http-http") != "")
      printf "\nHTTPS → HTTPS moves %.0f %% of what HTTP → HTTP does: the cost of TLS on both legs.\n",
        100 * mib("relay/https-https") / mib("relay/http-http")
    if (https_note != "")
      print "\n" https_note
  }

  if (on("conc")) {
    printf "\n### Concurrency: N simultaneous transfers of %s each, aggregate, median of %d run(s)\n\n", conc_label, runs
    print "| path | N | relay threads | MiB/s | vs ejabberd | vs Prosody | server CPU s/GiB | peak RSS |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    ncon = split("socks5-socks5 http-socks5 socks5-http http-http socat ejabberd prosody", con, " ")
    for (i = 1; i <= ncon; i++)
      for (l = 1; l <= nlevels; l++) {
        n = levels[l]
        conc_row(n, con[i], i <= npairs ? relay_threads : "–")
        if (i <= npairs && n == top && ("conc/" n "/" con[i] "-t1" in seen))
          conc_row(n, con[i] "-t1", 1)
      }
    print "\nRelay threads: proxy-test-server's relay worker threads; ejabberd's and Prosody's are their own (Erlang schedulers, one Lua loop), socat one process per transfer."
    if (threads_note != "")
      print "\n" threads_note "."
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

  if (on("e2e"))
    e2e_table()

  if (on("upload"))
    upload_table()

  # The targets of the issue, each with its evidence, for the figures measured.
  print "\n### Targets\n"
  print "| target | result | evidence |"
  print "|---|---|---|"
  if (on("e2e"))
    targets_e2e()
  if (on("conc"))
    targets_conc()
  if (on("relay"))
    targets_relay()
  if (on("sizes"))
    targets_sizes()
  printf "| every transfer complete, every byte checked | %s | %s |\n", check(any_failed == 0),
    any_failed == 0 ? "no transfer failed or differed" : "some failed or did not verify: see the log"
}

function conc_row(n, c, threads,    k, m, e, p) {
  k = "conc/" n "/" c
  e = mib("conc/" n "/ejabberd")
  p = mib("conc/" n "/prosody")
  if (c == "socat" && !(k in seen))
    return
  if (status(k) != "") {
    printf "| %s | %d | %s | %s | | | | |\n", pair_label(c), n, threads, status(k)
    return
  }
  m = mib(k)
  printf "| %s | %d | %s | %.0f | %s | %s | %s | %s |\n", pair_label(c), n, threads, m,
    c == "ejabberd" ? "1" : fmt(ratio(m, e), "%.2f"),
    c == "prosody" ? "1" : fmt(ratio(m, p), "%.1f"),
    fmt(median(cpus[k]), "%.2f"), fmt(rss_mib(k), "%.1f MiB")
}

function e2e_table(    i, k, r, ejrow, m) {
  printf "\n### End to end: libpurple to libpurple through proxy-test-server, and plain libpurple through ejabberd's mod_proxy65, %s, alternating, median of %d run(s)\n\n", e2e_label, runs
  if (e2e_note != "") {
    print e2e_note
    return
  }
  print "| alice → bob | path | MiB/s | vs plain → plain | vs plain through ejabberd | sender CPU s/GiB | sender peak RSS | receiver CPU s/GiB | receiver peak RSS | server CPU s/GiB | server peak RSS |"
  print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= ncombos; i++) {
    k = "e2e/" combos[i]
    ejrow = combos[i] == "plain-plain-ejabberd"
    r = (k in route) ? route[k] : (ejrow ? "SOCKS5-SOCKS5" : "?")
    if (r != "direct")
      gsub("-", " → ", r)
    if (combos[i] ~ /-https$/)
      gsub("HTTP", "HTTPS", r)
    if (!(k in seen) && (ejrow || combos[i] ~ /-https$/))
      continue
    if (status(k) != "") {
      printf "| %s | %s | %s | | | | | | | | |\n", combo_label(combos[i]), r, status(k)
      continue
    }
    m = mib(k)
    printf "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", combo_label(combos[i]), r, m,
      combos[i] == "plain-plain" ? "1" : fmt(ratio(m, e2e_ref), "%.2f"),
      ejrow ? "1" : fmt(ratio(m, e2e_ej), "%.2f"),
      fmt(cpu_of(scpu, k), "%.2f"), fmt(max_mib(srss, k), "%.1f MiB"),
      fmt(cpu_of(rcpu, k), "%.2f"), fmt(max_mib(rrss, k), "%.1f MiB"),
      fmt(median(cpus[k]), "%.2f"), fmt(rss_mib(k), "%.1f MiB")
  }
  print "\nPlain → plain through proxy-test-server is the reference. Sender and receiver: each libpurple driver process as a whole (sign-in, reading or writing the file included), from wait4(). Server: proxy-test-server's, or for the last row the whole ejabberd node's (c2s and mod_proxy65). \"direct reachable\": bob not behind NAT, so alice's own streamhost may serve."
  if (e2e_https_note != "")
    print "\n" e2e_https_note
  if (e2e_ej_note != "")
    print "\n" e2e_ej_note
}

function upload_table(    i, k, m, label) {
  printf "\n### XEP-0363 HTTP File Upload through Prosody 0.12 mod_http_file_share: slot request → PUT → GET, every byte checked, median of %d run(s)\n\n", runs
  if (upload_note != "") {
    print upload_note
    return
  }
  print "| Prosody | file | delivered in | MiB/s | plugin → plugin is | server CPU s/GiB | peak RSS |"
  print "|---|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= 2; i++) {
    k = i == 1 ? "upload/tuned" : "upload/stock"
    label = i == 1 ? "tuned (network_default_read_size = 1048576)" : "stock"
    if (status(k) != "") {
      printf "| %s | %s | %s | | | | |\n", label, i == 1 ? upload_label : upload_stock_label, status(k)
      continue
    }
    m = mib(k)
    printf "| %s | %s | %.1f s | %.1f | %s | %s | %s |\n", label, i == 1 ? upload_label : upload_stock_label,
      median(secs[k]), m, pp != "" ? sprintf("%.1f×", pp / m) : "–",
      fmt(median(cpus[k]), "%.2f"), fmt(rss_mib(k), "%.1f MiB")
  }
  printf "\nThe clock runs from the slot request to the download's last byte (upload, then download: the delivered file). \"plugin → plugin is\": the end-to-end figure's plugin → plugin (%s) against this row's MiB/s.\n", e2e_label
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

function targets_conc(    ok, ev, i, l, n, k, v, m, e, c, ce, t1, s5, so) {
  ok = 1
  ev = ""
  for (i = 1; i <= npairs; i++) {
    k = "conc/" top "/" pairs[i]
    v = rss_mib(k)
    if (v == "") { ok = 0; ev = ev pairs[i] " " (status(k) != "" ? status(k) : "unknown") "; "; continue }
    if (v > 64) ok = 0
    ev = ev sprintf("%s %.1f MiB; ", pairs[i], v)
  }
  printf "| peak RSS with %d concurrent ≤ 64 MiB | %s | %s |\n", top, check(ok), ev
  # Every pair ≥ 1.2× ejabberd at every N, in MiB/s and in CPU per GiB.
  for (l = 1; l <= nlevels; l++) {
    n = levels[l]
    e = mib("conc/" n "/ejabberd")
    ce = median(cpus["conc/" n "/ejabberd"])
    ok = e != "" && ce != ""
    ev = ""
    for (i = 1; i <= npairs; i++) {
      k = "conc/" n "/" pairs[i]
      m = mib(k)
      c = median(cpus[k])
      if (m == "" || e == "" || c == "" || ce == "") { ok = 0; ev = ev pairs[i] " not measured; "; continue }
      # No CPU tick at all (tiny transfers): below the clock's resolution.
      if (m < 1.2 * e || (c > 0 && ce / c < 1.2) || (c <= 0 && ce <= 0)) ok = 0
      ev = ev sprintf("%s %.2f× MiB/s, %s; ", pairs[i], m / e,
        c > 0 ? sprintf("ejabberd uses %.2f× the CPU", ce / c) : "CPU below one clock tick")
    }
    printf "| relay N = %d: every pair ≥ 1.2× ejabberd in MiB/s and in server CPU-s/GiB | %s | %s |\n", n,
      (e == "" || ce == "") ? "not measured" : check(ok), (e == "" ? "ejabberd not measured; " : "") ev
  }
  s5 = mib("conc/1/socks5-socks5")
  so = mib("conc/1/socat")
  if (s5 != "" && so != "")
    printf "| relay N = 1: SOCKS5 → SOCKS5 ≥ socat | %s | %.0f vs %.0f MiB/s (%.2f×), %s each |\n", check(s5 >= so), s5, so, s5 / so, conc_label
  else
    print "| relay N = 1: SOCKS5 → SOCKS5 ≥ socat | not measured | |"
  # The worker threads pay off: N = top with relay_threads ≥ 1.6× with one.
  t = sprintf("relay N = %d: every pair ≥ 1.6× the same binary with one relay thread", top)
  if (threads_note != "") {
    printf "| %s | not measured | %s |\n", t, threads_note
    return
  }
  ok = 1
  ev = ""
  for (i = 1; i <= npairs; i++) {
    m = mib("conc/" top "/" pairs[i])
    t1 = mib("conc/" top "/" pairs[i] "-t1")
    if (m == "" || t1 == "") { ok = 0; ev = ev pairs[i] " not measured; "; continue }
    if (m < 1.6 * t1) ok = 0
    ev = ev sprintf("%s %.0f vs %.0f MiB/s (%.2f×); ", pairs[i], m, t1, m / t1)
  }
  printf "| %s (%d threads) | %s | %s |\n", t, relay_threads, check(ok), ev
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

function targets_e2e(    t, pp_route, ev, ok, i, m, n, k, d, pd) {
  pp_route = ("e2e/plugin-plugin" in route) ? route["e2e/plugin-plugin"] : "?"
  gsub("-", " → ", pp_route)
  t = "end to end: plugin → plugin ≥ plain → plain through proxy-test-server"
  if (pp != "" && e2e_ref != "")
    printf "| %s | %s | %s: %.0f vs %.0f MiB/s (%.2f×), plugin → plugin over %s |\n", t, check(pp >= e2e_ref),
      e2e_label, pp, e2e_ref, pp / e2e_ref, pp_route
  else
    printf "| %s | not measured | %s |\n", t, e2e_note != "" ? e2e_note : "plugin → plugin " (pp == "" ? status("e2e/plugin-plugin") : "measured") ", plain → plain " (e2e_ref == "" ? status("e2e/plain-plain") : "measured")
  t = "end to end: plugin → plugin ≥ 1.5× plain libpurple through ejabberd"
  if (pp != "" && e2e_ej != "")
    printf "| %s | %s | %.0f vs %.0f MiB/s (%.2f×) |\n", t, check(pp >= 1.5 * e2e_ej), pp, e2e_ej, pp / e2e_ej
  else
    printf "| %s | not measured | %s |\n", t, e2e_note != "" ? e2e_note : (e2e_ej_note != "" ? e2e_ej_note : "a row failed")
  t = "end to end: plugin → plugin ≥ 5× XEP-0363 through tuned Prosody"
  if (pp != "" && up_tuned != "")
    printf "| %s | %s | %.0f vs %.1f MiB/s (%.1f×); %s vs %s |\n", t, check(pp >= 5 * up_tuned), pp, up_tuned,
      pp / up_tuned, e2e_label, upload_label
  else
    printf "| %s | not measured | %s |\n", t, !on("upload") ? "the XEP-0363 figure was not run" : (upload_note != "" ? upload_note : "a row failed")
  # Against libpurple alone through the same proxy: the plugin must cost nothing.
  ok = e2e_ref != ""
  ev = ""
  n = split("plugin-plugin plugin-plain plain-plugin", k, " ")
  for (i = 1; i <= n; i++) {
    m = mib("e2e/" k[i])
    if (m == "" || e2e_ref == "") { ok = 0; ev = ev k[i] " not measured; "; continue }
    if (m < e2e_ref) ok = 0
    ev = ev sprintf("%s %.0f (%.2f×); ", k[i], m, m / e2e_ref)
  }
  printf "| end to end: every row with the plugin ≥ plain → plain through proxy-test-server (%s MiB/s) | %s | %s |\n",
    fmt(e2e_ref, "%.0f"), check(ok), ev
  d = mib("e2e/plain-plain-direct")
  pd = mib("e2e/plugin-plugin-direct")
  t = "end to end, sender's direct streamhost reachable: plugin → plugin ≥ plain → plain direct"
  if (d != "" && pd != "") {
    r = ("e2e/plugin-plugin-direct" in route) ? route["e2e/plugin-plugin-direct"] : "?"
    if (r != "direct") gsub("-", " → ", r)
    printf "| %s | %s | %.0f vs %.0f MiB/s (%.2f×); plugin → plugin took %s |\n", t, check(pd >= d), pd, d, pd / d, r
  } else
    printf "| %s | not measured | %s |\n", t, e2e_note != "" ? e2e_note : "a row failed"
}
