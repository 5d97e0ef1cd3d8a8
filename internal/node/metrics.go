package node

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the node's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	migrations *prometheus.CounterVec
	received   prometheus.Counter
	downtime   prometheus.Histogram
	bytesSent  prometheus.Counter
	compiles   prometheus.Counter

	checkpoints     *prometheus.CounterVec
	checkpointPause prometheus.Histogram
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_migrations_total", Help: "Migrations out of this node, by result.",
		}, []string{"result"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roam_migrations_received_total", Help: "Instances that migrated into this node.",
		}),
		downtime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roam_migration_downtime_seconds",
			Help:    "Time from the last guest instruction on this node to the first on the destination.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		bytesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roam_migration_bytes_sent_total", Help: "Bytes sent by migrations out of this node.",
		}),
		compiles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roam_module_compiles_total", Help: "Modules this node loaded: instrumented (or read from its cache) and compiled.",
		}),
	}
	m.checkpoints = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roam_checkpoints_total", Help: "Periodic durable checkpoints, by result (written, unchanged, failed).",
	}, []string{"result"})
	m.checkpointPause = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roam_checkpoint_pause_seconds",
		Help:    "How long a periodic checkpoint stopped the guest (pause, capture in memory, go on).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.reg.MustRegister(m.migrations, m.received, m.downtime, m.bytesSent, m.compiles, m.checkpoints, m.checkpointPause,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roam_instances", Help: "Instances this node runs or holds paused.",
		}, func() float64 { return float64(n.countLive()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roam_guest_memory_bytes", Help: "Linear memory of the instances this node holds.",
		}, func() float64 { return float64(n.guestMemory()) }))
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *metrics) migrated(err error, res *MigrateResult) {
	if err != nil {
		m.migrations.WithLabelValues("failed").Inc()
		return
	}
	m.migrations.WithLabelValues("ok").Inc()
	m.bytesSent.Add(float64(res.Bytes))
}

func (n *Node) countLive() int {
	c := 0
	for _, v := range n.list() {
		if v.Status == statusRunning || v.Status == statusPaused {
			c++
		}
	}
	return c
}

func (n *Node) guestMemory() int64 {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.instances))
	for _, in := range n.instances {
		all = append(all, in)
	}
	n.mu.Unlock()
	var total int64
	for _, in := range all {
		in.mu.Lock() // LiveMemory's length only: no need to hold memMu
		if in.eng != nil {
			total += int64(len(in.eng.LiveMemory()))
		}
		in.mu.Unlock()
	}
	return total
}
