# Memory curve of a soak run (scripts/soak.mjs passes the variables with -e):
#   datafile: "seconds-since-worker-start KiB" lines; outfile: the PNG; ylabel; title;
#   t0, tmid, t1: streaming start, start of the slope's window, end;
#   a, b: the least-squares line over [tmid, t1] (KiB per second, KiB at 0) when fitted=1.
set terminal pngcairo size 1000,500 font ',10'
set output outfile
set title title noenhanced
set xlabel 'seconds since the worker started'
set ylabel ylabel
set grid
set key bottom right opaque
set yrange [0:*]
set arrow from t0, graph 0 to t0, graph 1 nohead dt 2 lc rgb '#888888'
set arrow from tmid, graph 0 to tmid, graph 1 nohead dt 3 lc rgb '#888888'
set arrow from t1, graph 0 to t1, graph 1 nohead dt 2 lc rgb '#888888'
f(x) = (x >= tmid && x <= t1) ? a * x + b : NaN
set samples 400
if (fitted) {
  plot datafile using 1:2 with linespoints pt 7 ps 0.5 lw 1.5 title 'memory', \
       f(x) with lines lw 2 lc rgb '#cc0000' title sprintf('least squares over the slope window: %.2f KiB/min', a * 60)
} else {
  plot datafile using 1:2 with linespoints pt 7 ps 0.5 lw 1.5 title 'memory'
}
