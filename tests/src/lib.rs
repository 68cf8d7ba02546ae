//! Test platform: a real etcd + kube-apiserver (+ kube-controller-manager) for integration tests.
